/** /instances and /instances/:id: the shells; the client modules load rows and charts from the JSON API. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../context.js';
import { engines } from '../engines/registry.js';
import { IdParams } from '../http/envelope.js';
import { t } from './i18n/index.js';
import { renderPage, requestLocale } from './render.js';

export const instancePages = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tz = ctx.config.timeZone;
  const hidden = { hide: true } as const;
  const engineList = Object.values(engines).map((e) => ({ db_type: e.dbType, label: e.label, default_port: e.defaultPort, needs_database_name: e.needsDatabaseName }));

  app.get('/instances', { config: { access: 'viewer' }, schema: { ...hidden, summary: 'Instances page' } }, async (req, reply) => {
    const anyInstance = (await ctx.instances.totalSizes()).length > 0;
    return renderPage(req, reply, tz, 'instances', { title: t(requestLocale(req), 'instances.title'), nav: 'instances', script: 'instances', engines: engineList, anyInstance });
  });

  app.get('/instances/:id', { config: { access: 'viewer' }, schema: { ...hidden, summary: 'Instance detail page', params: IdParams } }, async (req, reply) => {
    const inst = await ctx.instances.get(req.params.id);
    return renderPage(req, reply, tz, 'instance', { title: inst.name, nav: 'instances', script: 'instance', inst, engines: engineList });
  });
};
