/** /instances, /instances/import and /instances/:id: the shells; the client modules load rows and charts from the JSON API. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { engines } from '../../engines/registry.js';
import { IdParams } from '../envelope.js';
import { t } from '../../client/shared/i18n/index.js';
import { renderPage, requestLocale } from './render.js';

export const instancePages =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tz = ctx.config.timeZone;
    const hidden = { hide: true } as const;
    // The TLS option of each engine (PostgreSQL sslmode, MySQL/MariaDB ssl), for the form's TLS fields.
    const tlsOf = (e: (typeof engines)[keyof typeof engines]) => {
      const key = ['sslmode', 'ssl'].find((k) => e.options[k]?.kind === 'enum');
      const spec = key ? e.options[key] : undefined;
      return key && spec?.kind === 'enum' ? { tls_key: key, tls_modes: spec.values.join(',') } : { tls_key: '', tls_modes: '' };
    };
    // The size methods of the engines that have a choice (MySQL/MariaDB `method`), for the form's method select.
    const methodsOf = (e: (typeof engines)[keyof typeof engines]) => {
      const spec = e.options.method;
      return spec?.kind === 'enum' ? { methods: spec.values.join(','), method_default: spec.default ?? '' } : { methods: '', method_default: '' };
    };
    const engineList = Object.values(engines).map((e) => ({
      db_type: e.dbType,
      label: e.label,
      default_port: e.defaultPort,
      needs_database_name: e.needsDatabaseName,
      ...tlsOf(e),
      ...methodsOf(e),
    }));

    app.get('/instances', { config: { access: 'viewer' }, schema: { ...hidden, summary: 'Instances page' } }, async (req, reply) => {
      const anyInstance = (await ctx.instances.totalSizes()).length > 0;
      return renderPage(req, reply, tz, 'instances', {
        title: t(requestLocale(req), 'instances.title'),
        nav: 'instances',
        script: 'instances',
        engines: engineList,
        anyInstance,
      });
    });

    // The import page (issue #10): the client posts the file to /api/instances/import, dry run first.
    app.get('/instances/import', { config: { access: 'admin' }, schema: { ...hidden, summary: 'Instance import page' } }, async (req, reply) => {
      return renderPage(req, reply, tz, 'instances-import', { title: t(requestLocale(req), 'import.title'), nav: 'instances', script: 'instances-import' });
    });

    app.get(
      '/instances/:id',
      { config: { access: 'viewer' }, schema: { ...hidden, summary: 'Instance detail page', params: IdParams } },
      async (req, reply) => {
        const id = req.params.id;
        const inst = await ctx.instances.get(id);
        const [dbs, changes, forecast] = await Promise.all([ctx.capacity.databases(id), ctx.capacity.changes(id), ctx.runway.forInstance(id)]);
        return renderPage(req, reply, tz, 'instance', {
          title: inst.name,
          nav: 'instances',
          script: 'instance',
          inst,
          engine: engineList.find((e) => e.db_type === inst.db_type),
          onlineCount: dbs.online_count,
          deletedCount: dbs.deleted_count,
          changes,
          forecast,
        });
      },
    );
  };
