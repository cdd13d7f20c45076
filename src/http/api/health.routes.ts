import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import type { Context } from '../../context.js';
import { withTimeout } from '../../lib/timeout.js';
import { migrationState } from '../../store/migrations/index.js';
import { Health, Readiness } from './health.schemas.js';

/**
 * How long /readyz waits for the store. A store that hangs (a link dropping
 * packets: no refusal, no answer) must still get a 503 well within a load
 * balancer's or kubelet's probe timeout (commonly 2 s); the query itself is
 * left to the pool's own timeouts.
 */
export const READY_TIMEOUT_MS = 1_500;

/** How long a key check result is kept (the ring changes only with a restart; a rotation elsewhere shows within this). */
const KEY_CHECK_MS = 30_000;

export const healthRoutes =
  (ctx: Pick<Context, 'store' | 'credentials'>): FastifyPluginAsyncTypebox =>
  async (app) => {
    let keyCheck: { at: number; problem: Promise<string | null> } | undefined;
    const keyProblem = () => {
      if (!keyCheck || performance.now() - keyCheck.at > KEY_CHECK_MS) keyCheck = { at: performance.now(), problem: ctx.credentials.keyProblem() };
      return keyCheck.problem;
    };
    app.get(
      '/healthz',
      {
        config: { access: 'public' },
        schema: { tags: ['health'], operationId: 'getHealth', security: [], summary: 'Liveness: the process answers', response: { 200: Health } },
      },
      async () => ({ status: 'ok' }),
    );
    app.get(
      '/readyz',
      {
        config: { access: 'public' },
        schema: {
          tags: ['health'],
          operationId: 'getReadiness',
          security: [],
          summary:
            'Readiness: the store is reachable (answers within 1.5 s), its schema is this version’s (no migration pending), and the secret key decrypts the stored credentials',
          response: { 200: Readiness, 503: Readiness },
        },
      },
      async (_req, reply) => {
        let m: Awaited<ReturnType<typeof migrationState>>;
        try {
          m = await withTimeout(
            sql`SELECT 1`.execute(ctx.store.db).then(() => migrationState(ctx.store.db)),
            READY_TIMEOUT_MS,
            'store',
          );
        } catch {
          return reply.status(503).send({ status: 'unavailable', store: ctx.store.dialect, reason: 'store unreachable' });
        }
        if (m.pending.length || m.unknown.length) {
          const reason = m.pending.length ? `migrations pending: ${m.pending.join(', ')}` : `store is newer than this version: ${m.unknown.join(', ')}`;
          return reply.status(503).send({ status: 'unavailable', store: ctx.store.dialect, reason });
        }
        // In every mode (not only scale-out, which refuses to start): a key that cannot decrypt the credentials.
        const problem = await keyProblem().catch((err: Error) => `key check failed: ${err.message}`);
        if (problem) return reply.status(503).send({ status: 'unavailable', store: ctx.store.dialect, reason: problem });
        return { status: 'ready', store: ctx.store.dialect };
      },
    );
  };
