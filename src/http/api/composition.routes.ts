/**
 * Where every byte went (issue #21): an instance's composition — the latest
 * day's parts `{kind, bytes, detail}` (bytes null with `reason` when not
 * measured), the engine-reported ceiling, the unexplained rest where the
 * engine reports a disk total — with its daily history and each part's
 * growth (viewer); collect it now (operator).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CompositionService } from '../../services/composition.service.js';
import { apiLocale, IdParams, Ok, ok } from '../envelope.js';
import { Composition, CompositionQuery } from './tables.schemas.js';
import { msg } from '../../client/shared/i18n/index.js';

export const compositionRoutes =
  (ctx: { composition: CompositionService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const base = { tags: ['composition'] };
    app.get(
      '/api/instances/:id/composition',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getComposition',
          response: { 200: Ok(Composition) },
          summary:
            "Where the instance's bytes went: disjoint parts per engine (null with a reason when not measured), ceiling, unexplained bytes, daily history and growth per part",
          params: IdParams,
          querystring: CompositionQuery,
        },
      },
      async (req) => ok(await ctx.composition.get(req.params.id, { days: req.query.days }, apiLocale(req))),
    );
    app.post(
      '/api/instances/:id/composition/collect',
      {
        config: { access: 'operator' },
        schema: {
          ...base,
          operationId: 'collectComposition',
          summary: "Collect the instance's composition now (stored as today's row)",
          params: IdParams,
          response: { 200: Ok(Composition, 'Collected') },
        },
      },
      async (req) => ok(await ctx.composition.collect(req.params.id, apiLocale(req)), msg('api.composition.success'), apiLocale(req)),
    );
  };
