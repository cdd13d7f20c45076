/**
 * Table-level capacity pages (issue #9): /instances/:id/databases/:name (the
 * tables of one database: split bar, sort, search, paging, trend chart,
 * 采集表容量) and /capacity/tables (top growing tables across the estate).
 * Shells only: the client modules read /api/instances/:id/tables and /api/tables/*.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { engines } from '../../engines/registry.js';
import { t } from '../../client/shared/i18n/index.js';
import { renderPage, requestLocale } from './render.js';

const DatabaseParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  name: Type.String({ minLength: 1, maxLength: 512 }),
});

export const tablePages =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tz = ctx.config.timeZone;

    app.get(
      '/instances/:id/databases/:name',
      { config: { access: 'viewer' }, schema: { hide: true, summary: 'Database detail page (its tables)', params: DatabaseParams } },
      async (req, reply) => {
        const inst = await ctx.instances.get(req.params.id);
        const engine = Object.values(engines).find((e) => e.dbType === inst.db_type);
        return renderPage(req, reply, tz, 'database', {
          title: `${req.params.name} · ${inst.name}`,
          nav: 'instances',
          script: 'database',
          inst,
          engineLabel: engine ? engine.label : inst.db_type,
          database: req.params.name,
        });
      },
    );

    app.get('/capacity/tables', { config: { access: 'viewer' }, schema: { hide: true, summary: 'Top growing tables page' } }, async (req, reply) => {
      const instances = (await ctx.instances.list()).map((i) => ({ id: i.id, name: i.name }));
      return renderPage(req, reply, tz, 'top-tables', {
        title: t(requestLocale(req), 'tables.top_title'),
        nav: 'capacity_tables',
        script: 'top-tables',
        instances,
      });
    });
  };
