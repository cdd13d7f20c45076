/** The original (seed) paths, kept byte-compatible: response shapes and messages. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { actorOf } from '../access.js';
import { apiLocale, IdParams, Ok, ok } from '../envelope.js';
import { Type } from '@sinclair/typebox';
import { TotalSize } from './instances.schemas.js';
import { ManualSync } from './sync.schemas.js';
import { msgText } from '../../client/shared/i18n/index.js';

export const seedRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/database-sizes/instances/:id/sync-capacity',
      {
        config: { access: 'operator' },
        schema: {
          tags: ['seed'],
          operationId: 'syncInstanceCapacity',
          summary: '同步容量 (manual sync of one instance)',
          params: IdParams,
          response: { 200: Ok(ManualSync, 'Synced') },
        },
      },
      async (req) => {
        const r = await ctx.capacitySync.syncInstance(req.params.id, actorOf(req));
        const locale = apiLocale(req);
        return ok({ ...r.data, warnings: r.data.warning_msgs.map((m) => msgText(m, locale)) }, r.message, locale);
      },
    );
    app.get(
      '/instances/api/instances/total-sizes',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['seed'],
          operationId: 'listInstanceTotalSizes',
          summary: '[{instance_id, total_size_mb}] for every instance',
          response: { 200: Ok(Type.Array(TotalSize)) },
        },
      },
      async () => ok(await ctx.instances.totalSizes()),
    );
  };
