/** Response schemas of the probes (health.routes.ts): plain objects, not the envelope, as load balancers expect. */
import { Type } from '@sinclair/typebox';
import { Closed } from '../components.js';

/** A documented enum whose static type stays `string` (the handlers build these as plain objects). */
const Word = (values: string[]) => Type.Unsafe<string>({ type: 'string', enum: values });

export const Health = Closed({ status: Word(['ok']) }, 'The process answers');
export const Readiness = Closed(
  {
    status: Word(['ready', 'unavailable']),
    store: Word(['sqlite', 'postgres']),
    reason: Type.Optional(Type.String({ description: 'why not ready (503)' })),
  },
  'ready (200), or unavailable with the reason (503)',
);
