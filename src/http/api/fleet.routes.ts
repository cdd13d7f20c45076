/**
 * Fleet onboarding over HTTP: import (the file is the request body, CSV or
 * YAML), export, connection tests over a selection or a tag, discovery. The work
 * and the checks are in services/fleet.service.ts; this only maps HTTP.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { AppError } from '../../lib/errors.js';
import { localizeReport, type FleetFormat } from '../../services/fleet.service.js';
import { DISCOVERY_LIMITS } from '../../services/discovery.service.js';
import { roleAtLeast } from '../../services/auth.service.js';
import { fail } from '../../services/validate.js';
import { actorOf } from '../access.js';
import { apiLocale, Ok, ok } from '../envelope.js';
import { ConnectionTests, DiscoveryReport, ExportInstancesQuery, ImportInstancesQuery, ImportReport, TestConnectionsBody } from './fleet.schemas.js';
import { localizeCheck } from '../../engines/common.js';
import { msg, msgText } from '../../client/shared/i18n/index.js';

const FORMAT_OF: Record<string, FleetFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/yaml': 'yaml',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/x-yaml': 'yaml',
};
const TYPE_OF: Record<FleetFormat, string> = { csv: 'text/csv; charset=utf-8', yaml: 'application/yaml; charset=utf-8' };

export const fleetRoutes =
  (ctx: Pick<Context, 'fleet' | 'discovery' | 'instances' | 'connections' | 'config'>): FastifyPluginAsyncTypebox =>
  async (app) => {
    // A file past the limit is refused from its Content-Length, before it is read (WHALEFALL_IMPORT_MAX_BYTES).
    const IMPORT_LIMIT = ctx.config.importMaxBytes;
    // The file arrives as text; text/plain is Fastify's own parser (then `format` must be given).
    app.addContentTypeParser(Object.keys(FORMAT_OF), { parseAs: 'string', bodyLimit: IMPORT_LIMIT }, (_req, body, done) => done(null, body));
    const base = { tags: ['fleet'] };

    app.post(
      '/api/instances/import',
      {
        config: { access: 'admin' },
        bodyLimit: IMPORT_LIMIT,
        schema: {
          ...base,
          operationId: 'importInstances',
          response: { 200: Ok(ImportReport, 'Imported, or the dry-run preview') },
          summary:
            'Import instances from a CSV or YAML file (the body): a validation report with the row and column of every error; stored only when the whole file is valid, or with partial the valid rows',
          description:
            `At most WHALEFALL_IMPORT_MAX_ROWS rows (default 20,000) and WHALEFALL_IMPORT_MAX_BYTES (default 10 MiB, else 413 body_too_large); one import at a time (a second answers 409 conflict). ` +
            'Columns/keys: name, db_type, host, port, database_name, credential (a credential name), is_active, description, tags (CSV: `a;b`), options (CSV: JSON). Matched by name: existing instances are updated, never duplicated. `dry_run` returns the preview only. A refused file answers 400 with `error_code: import_invalid` and the same report in `data`. A new row for a server already registered (same host:port, see `duplicates`) is stored only with `confirm_duplicates=true`: without it the answer is 409 `duplicate_server` with the report in `data`.',
          consumes: [...Object.keys(FORMAT_OF), 'text/plain'],
          querystring: ImportInstancesQuery,
          body: Type.String(),
        },
      },
      async (req) => {
        const mime = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const format = req.query.format ?? FORMAT_OF[mime];
        if (!format) throw new AppError('validation', msg('api.import_format'));
        const q = req.query;
        const locale = apiLocale(req);
        const report = localizeReport(
          await ctx.fleet.import(
            req.body,
            { format, dryRun: q.dry_run, partial: q.partial, disableMissing: q.disable_missing, confirmDuplicates: q.confirm_duplicates },
            actorOf(req),
          ),
          locale,
        );
        if (!report.dry_run && report.needs_confirmation && (report.errors.length === 0 || report.partial)) {
          const rows = report.duplicates.map((d) => `${d.name} = ${d.same_as.join('/')}`).join(', ');
          throw new AppError('conflict', msg('api.import_duplicates', { count: report.duplicates.length, rows }), 'duplicate_server', { data: report });
        }
        if (!report.dry_run && !report.applied) {
          throw new AppError('validation', msg('api.import_invalid', { count: report.errors.length }), 'import_invalid', { data: report });
        }
        const done = report.dry_run
          ? msg('api.import_dry_run')
          : msg('api.import_done', { created: report.created, updated: report.updated, unchanged: report.unchanged, disabled: report.disabled.length });
        return ok(report, done, locale);
      },
    );

    app.get(
      '/api/instances/export',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'exportInstances',
          response: {
            200: {
              description: 'The import file (attachment)',
              content: { 'text/csv': { schema: Type.String() }, 'application/yaml': { schema: Type.String() } },
            },
          },
          summary: 'Export the registry (or one tag) as CSV or YAML, credentials by name, no secrets; re-importing it changes nothing',
          querystring: ExportInstancesQuery,
        },
      },
      async (req, reply) => {
        const format = req.query.format ?? 'csv';
        const body = await ctx.fleet.export(format, { tag: req.query.tag });
        return reply
          .type(TYPE_OF[format])
          .header('content-disposition', `attachment; filename="instances.${format === 'csv' ? 'csv' : 'yaml'}"`)
          .send(body);
      },
    );

    // Two shapes on one path: a selection of registered instances (operator), or one instance's settings from the
    // add/edit form before 保存 (issue #20; admin, like saving them): connect, version and grants, nothing written,
    // an inline password used for this test only.
    app.post(
      '/api/instances/test-connection',
      {
        config: { access: 'operator' },
        schema: {
          ...base,
          operationId: 'testConnections',
          response: { 200: Ok(ConnectionTests) },
          summary:
            'Test connections. A selection (ids, names, a tag, or all active; operator): one row per instance with bounded concurrency: reachable, auth ok, version, latency, optionally the doctor summary. ' +
            'Or unsaved settings (db_type, host, …, with credential_id or username + password; admin): connect, server version and grant check; nothing is written, the password is never stored',
          body: TestConnectionsBody,
        },
      },
      async (req) => {
        const { concurrency, doctor, ids, names, tag, all, instance_id, username, password, ...def } = req.body;
        const unsaved = instance_id !== undefined || username !== undefined || password !== undefined || Object.keys(def).length > 0;
        if (!unsaved) {
          const locale = apiLocale(req);
          const rows = (await ctx.fleet.testConnections({ ids, names, tag, all }, { concurrency, doctor })).map((r) =>
            r.error_msg ? { ...r, error: msgText(r.error_msg, locale) } : r,
          );
          const okCount = rows.filter((r) => r.reachable && r.auth_ok).length;
          return ok(rows, msg('api.connection.tested', { ok: okCount, total: rows.length }), locale);
        }
        if (ids || names || tag !== undefined || all !== undefined) fail('body', msg('api.v.selection_or_unsaved'));
        if (!req.principal || !roleAtLeast(req.principal.role, 'admin')) throw new AppError('forbidden', msg('api.connection.unsaved_admin'));
        if ((username === undefined) !== (password === undefined)) fail(username === undefined ? 'username' : 'password', msg('api.v.username_password'));
        const inline = username !== undefined ? { username, password: password! } : null;
        const settings = await ctx.instances.unsaved(inline ? { ...def, credential_id: null } : def, instance_id);
        if (!inline && settings.credential_id === null) fail('credential_id', msg('api.v.credential_or_password'));
        const { server_version, latency_ms, ok: grantsOk, checks } = await ctx.connections.probeUnsaved(settings, inline);
        const locale = apiLocale(req);
        return ok(
          { server_version, latency_ms, doctor: { ok: grantsOk, checks: checks.map((c) => localizeCheck(c, locale)) } },
          msg('api.connection.ok', { version: server_version }),
          locale,
        );
      },
    );

    app.post(
      '/api/instances/discover',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'discoverInstances',
          response: { 200: Ok(DiscoveryReport) },
          summary:
            'Probe hosts / IPv4 CIDR ranges / host:port for PostgreSQL and MySQL/MariaDB handshakes (no login) and propose the unregistered ones as import rows; bounded in count, rate and time; only with WHALEFALL_DISCOVERY=on',
          body: Type.Object(
            {
              targets: Type.Array(Type.String({ maxLength: 300 }), { minItems: 1, maxItems: 10000 }),
              ports: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { minItems: 1, maxItems: 64 })),
              max_targets: Type.Optional(Type.Integer({ minimum: 1, maximum: DISCOVERY_LIMITS.maxTargets.max })),
              rate: Type.Optional(Type.Integer({ minimum: 1, maximum: DISCOVERY_LIMITS.rate.max })),
              concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: DISCOVERY_LIMITS.concurrency.max })),
              timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: DISCOVERY_LIMITS.timeoutMs.max })),
              deadline_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: DISCOVERY_LIMITS.deadlineMs.max })),
              credential: Type.Optional(Type.String({ maxLength: 128 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => {
        ctx.discovery.assertApiEnabled();
        const r = await ctx.discovery.discover(req.body, actorOf(req));
        return ok(r, msg('api.discovery.done', { probed: r.probed, found: r.found.length, proposed: r.proposals.length }), apiLocale(req));
      },
    );
  };
