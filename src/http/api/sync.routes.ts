import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { actorOf } from '../access.js';
import { apiLocale, Ok, ok, OkJson, okJson } from '../envelope.js';
import { msg } from '../../client/shared/i18n/index.js';
import { BatchStarted, BatchSyncBody, CancelResult, SyncSession, SyncSessionDetail, SyncSessionListQuery, SyncSessionPage } from './sync.schemas.js';

export const syncRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const base = { tags: ['sync'] };
    app.post(
      '/api/sync/capacity',
      {
        config: { access: 'operator' },
        // No body at all (or no instance_ids) means every active instance; an empty list is refused (400).
        preValidation: async (req) => {
          req.body ??= {};
        },
        schema: {
          ...base,
          operationId: 'startBatchSync',
          response: { 202: Ok(BatchStarted, 'Started: poll the session') },
          summary:
            'Batch sync: the given instances, or every active one when instance_ids is left out (an empty list is 400); returns the session at once (409 conflict when no instance is active)',
          body: Type.Optional(BatchSyncBody),
        },
      },
      async (req, reply) => {
        const ids = req.body?.instance_ids;
        const started = await ctx.capacitySync.startMany(ids ?? 'all-active', { syncType: 'manual_batch', actor: actorOf(req) });
        started.done.catch((err) => req.log.error({ err, session_id: started.session_id }, 'batch sync crashed'));
        return reply
          .status(202)
          .send(
            ok({ session_id: started.session_id, total_instances: started.total }, msg('api.sync.batch_started', { total: started.total }), apiLocale(req)),
          );
      },
    );
    app.get(
      '/api/sync-sessions',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listSyncSessions',
          response: { 200: Ok(SyncSessionPage) },
          summary: 'Sync sessions, newest first, paged (data.items, data.total), filtered by type, status and start date',
          querystring: SyncSessionListQuery,
        },
      },
      async (req) => ok(await ctx.capacity.sessions(req.query)),
    );
    app.get(
      '/api/sync-sessions/:id',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getSyncSession',
          summary: 'One sync session with every instance record',
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          response: { 200: OkJson(SyncSessionDetail) },
        },
      },
      // Polled while the session runs: the body is built as JSON text (see CapacityService.sessionJson).
      async (req, reply) => okJson(reply, await ctx.capacity.sessionJson(req.params.id)),
    );
    app.get(
      '/api/sync-sessions/:id/summary',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getSyncSessionSummary',
          summary:
            'One sync session without its records: its status and live counts, for a progress bar to poll (the full session of 10,000 instances is ~9 MB)',
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          response: { 200: Ok(SyncSession) },
        },
      },
      async (req) => ok(await ctx.capacity.sessionSummary(req.params.id)),
    );
    app.post(
      '/api/sync-sessions/:id/cancel',
      {
        config: { access: 'operator' },
        schema: {
          ...base,
          operationId: 'cancelSyncSession',
          response: { 202: Ok(CancelResult, 'Cancel requested') },
          summary: 'Cancel a running session: instances not started are skipped, running ones are aborted; the session ends `cancelled` (poll it)',
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        },
      },
      async (req, reply) => {
        const r = await ctx.capacitySync.cancel(req.params.id, actorOf(req));
        return reply.status(202).send(ok(r, msg('api.sync.cancel_requested', { skipped: r.skipped, running: r.running }), apiLocale(req)));
      },
    );
  };
