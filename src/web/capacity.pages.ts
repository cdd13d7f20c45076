/** /capacity/instances and /capacity/databases: one view, one client module; data from GET /api/statistics/capacity. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../context.js';
import { engines } from '../engines/registry.js';
import { t } from './i18n/index.js';
import { renderPage, requestLocale } from './render.js';

export const capacityPages = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tz = ctx.config.timeZone;
  const engineList = Object.values(engines).map((e) => ({ db_type: e.dbType, label: e.label }));
  for (const scope of ['instance', 'database'] as const) {
    app.get(`/capacity/${scope}s`, { config: { access: 'viewer' }, schema: { hide: true, summary: `Capacity statistics page (${scope}s)` } }, async (req, reply) => {
      const instances = (await ctx.instances.list()).map((i) => ({ id: i.id, name: i.name, db_type: i.db_type }));
      return renderPage(req, reply, tz, 'capacity', {
        title: t(requestLocale(req), `nav.capacity_${scope}s`),
        nav: `capacity_${scope}s`,
        script: 'capacity',
        scope,
        engines: engineList,
        instances,
      });
    });
  }
};
