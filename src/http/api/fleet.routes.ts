/**
 * Fleet onboarding over HTTP: import (the file is the request body, CSV or
 * YAML), export, connection tests over a selection or a tag, discovery. The work
 * and the checks are in services/fleet.service.ts; this only maps HTTP.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { AppError } from '../../lib/errors.js';
import { FLEET_FORMATS, type FleetFormat } from '../../services/fleet.service.js';
import { DISCOVERY_LIMITS } from '../../services/discovery.service.js';
import { actorOf } from '../access.js';
import { ok, StringEnum } from '../envelope.js';

const FORMAT_OF: Record<string, FleetFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/yaml': 'yaml',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/x-yaml': 'yaml',
};
const TYPE_OF: Record<FleetFormat, string> = { csv: 'text/csv; charset=utf-8', yaml: 'application/yaml; charset=utf-8' };
const IMPORT_LIMIT = 32 * 1024 * 1024;
const Format = StringEnum(FLEET_FORMATS);
const Flag = Type.Boolean({ default: false });

export const fleetRoutes = (ctx: Pick<Context, 'fleet' | 'discovery'>): FastifyPluginAsyncTypebox => async (app) => {
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
        summary: 'Import instances from a CSV or YAML file (the body): a validation report with the row and column of every error; stored only when the whole file is valid, or with partial the valid rows',
        description:
          'Columns/keys: name, db_type, host, port, database_name, credential (a credential name), is_active, description, tags (CSV: `a;b`), options (CSV: JSON). Matched by name: existing instances are updated, never duplicated. `dry_run` returns the preview only. A refused file answers 400 with `error_code: import_invalid` and the same report in `data`.',
        consumes: [...Object.keys(FORMAT_OF), 'text/plain'],
        querystring: Type.Object(
          { format: Type.Optional(Format), dry_run: Flag, partial: Flag, disable_missing: Flag },
          { additionalProperties: false },
        ),
        body: Type.String(),
      },
    },
    async (req) => {
      const mime = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const format = req.query.format ?? FORMAT_OF[mime];
      if (!format) throw new AppError('validation', 'format: 请用 ?format=csv|yaml 或 Content-Type text/csv、application/yaml 指明格式 (say the format)');
      const report = await ctx.fleet.import(req.body, { format, dryRun: req.query.dry_run, partial: req.query.partial, disableMissing: req.query.disable_missing }, actorOf(req));
      if (!report.dry_run && !report.applied) {
        throw new AppError('validation', `${report.errors.length} 处错误，未导入任何实例 (${report.errors.length} errors: nothing imported)`, 'import_invalid', { data: report });
      }
      const msg = report.dry_run ? '预览，未保存 (dry run: nothing stored)' : `新增 ${report.created}，更新 ${report.updated}，未变 ${report.unchanged}，停用 ${report.disabled.length}`;
      return ok(report, msg);
    },
  );

  app.get(
    '/api/instances/export',
    {
      config: { access: 'viewer' },
      schema: {
        ...base,
        summary: 'Export the registry (or one tag) as CSV or YAML, credentials by name, no secrets; re-importing it changes nothing',
        querystring: Type.Object({ format: Type.Optional(Format), tag: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      const format = req.query.format ?? 'csv';
      const body = await ctx.fleet.export(format, { tag: req.query.tag });
      return reply.type(TYPE_OF[format]).header('content-disposition', `attachment; filename="instances.${format === 'csv' ? 'csv' : 'yaml'}"`).send(body);
    },
  );

  app.post(
    '/api/instances/test-connection',
    {
      config: { access: 'operator' },
      schema: {
        ...base,
        summary: 'Test the connection of many instances (ids, names, a tag, or all active) with bounded concurrency; one row per instance: reachable, auth ok, version, latency, optionally the doctor summary',
        body: Type.Object(
          {
            ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), { maxItems: 10000 })),
            names: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 10000 })),
            tag: Type.Optional(Type.String({ maxLength: 64 })),
            all: Type.Optional(Type.Boolean()),
            concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
            doctor: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const { concurrency, doctor, ...sel } = req.body;
      const rows = await ctx.fleet.testConnections(sel, { concurrency, doctor });
      const okCount = rows.filter((r) => r.reachable && r.auth_ok).length;
      return ok(rows, `${okCount}/${rows.length} 连接成功 (connected)`);
    },
  );

  app.post(
    '/api/instances/discover',
    {
      config: { access: 'admin' },
      schema: {
        ...base,
        summary: 'Probe hosts / IPv4 CIDR ranges / host:port for PostgreSQL and MySQL/MariaDB handshakes (no login) and propose the unregistered ones as import rows; bounded in count, rate and time; only with WHALEFALL_DISCOVERY=on',
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
      return ok(r, `探测 ${r.probed} 个端点，发现 ${r.found.length} 个数据库，${r.proposals.length} 个未登记 (probed, found, proposed)`);
    },
  );
};
