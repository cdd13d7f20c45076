/** /capacity/instances and /capacity/databases (one view, one client module; GET /api/statistics/capacity) and /capacity/runway (GET /api/statistics/runway). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { engines } from '../../engines/registry.js';
import { t } from '../../client/shared/i18n/index.js';
import { renderPage, requestLocale } from './render.js';

export const capacityPages =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tz = ctx.config.timeZone;
    const engineList = Object.values(engines).map((e) => ({ db_type: e.dbType, label: e.label }));
    for (const scope of ['instance', 'database'] as const) {
      app.get(
        `/capacity/${scope}s`,
        { config: { access: 'viewer' }, schema: { hide: true, summary: `Capacity statistics page (${scope}s)` } },
        async (req, reply) => {
          const instances = (await ctx.instances.list()).map((i) => ({ id: i.id, name: i.name, db_type: i.db_type }));
          return renderPage(req, reply, tz, 'capacity', {
            title: t(requestLocale(req), `nav.capacity_${scope}s`),
            nav: `capacity_${scope}s`,
            script: 'capacity',
            scope,
            engines: engineList,
            instances,
          });
        },
      );
    }

    // 容量预警: what runs out first (GET /api/statistics/runway), with the what-if in the browser.
    app.get('/capacity/runway', { config: { access: 'viewer' }, schema: { hide: true, summary: 'Runway page (what runs out first)' } }, async (req, reply) => {
      const tags = [...new Set((await ctx.instances.list()).flatMap((i) => i.tags))].sort();
      return renderPage(req, reply, tz, 'runway', { title: t(requestLocale(req), 'runway.title'), nav: 'runway', script: 'runway', engines: engineList, tags });
    });
  };
