import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { DB_TYPES } from '../../domain/db-type.js';
import { engines } from '../../engines/registry.js';
import { fail } from '../../services/validate.js';
import { actorOf } from '../access.js';
import { apiLocale, IdParams, Ok, ok, StringEnum } from '../envelope.js';
import {
  CapacityHistory,
  ConnectionProbe,
  CreateInstanceBody,
  DoctorReport,
  Engine,
  Instance,
  InstanceDatabases,
  InstanceOverview,
  InstanceOverviewQuery,
  SyncRecordListQuery,
  UpdateInstanceBody,
} from './instances.schemas.js';
import { InstanceSyncRecord } from './sync.schemas.js';
import { localizeCheck } from '../../engines/common.js';
import { msg } from '../../client/shared/i18n/index.js';

const DbType = StringEnum(DB_TYPES);
const DateStr = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

export const instancesRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const base = { tags: ['instances'] };
    app.get(
      '/api/instances',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listInstances',
          response: { 200: Ok(Type.Array(Instance), 'The instances (with limit: one page; X-Total-Count says how many match)') },
          summary:
            'List instances in name order (filter by db_type, is_active, tag). With limit, one page of them and the X-Total-Count header; without, all of them (for thousands, page: each instance costs ~25 µs to read and serialise)',
          querystring: Type.Object(
            {
              db_type: Type.Optional(DbType),
              is_active: Type.Optional(Type.Boolean()),
              tag: Type.Optional(Type.String({ maxLength: 64 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
              offset: Type.Optional(Type.Integer({ minimum: 0 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const q = req.query;
        const filter = { dbType: q.db_type, active: q.is_active, tag: q.tag };
        if (q.limit === undefined) {
          if (q.offset !== undefined) fail('offset', msg('api.v.offset_needs_limit'));
          return ok(await ctx.instances.list(filter));
        }
        const [items, total] = await Promise.all([ctx.instances.list({ ...filter, limit: q.limit, offset: q.offset ?? 0 }), ctx.instances.count(filter)]);
        reply.header('X-Total-Count', String(total));
        return ok(items);
      },
    );
    app.get(
      '/api/instances/overview',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getInstanceOverview',
          response: { 200: Ok(InstanceOverview) },
          summary:
            'The instances page: filtered, sorted, paged (data.items, data.total), with database count, total, 7-day change and last sync state; data.tags lists every tag',
          querystring: InstanceOverviewQuery,
        },
      },
      async (req) => {
        const q = req.query;
        return ok(
          await ctx.capacity.instanceOverview({
            dbType: q.db_type,
            status: q.status,
            tag: q.tag,
            search: q.q,
            ids: q.ids,
            sort: q.sort,
            dir: q.dir,
            limit: q.limit,
            offset: q.offset,
          }),
        );
      },
    );
    app.post(
      '/api/instances',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'createInstance',
          summary: 'Register an instance',
          body: CreateInstanceBody,
          response: { 201: Ok(Instance, 'Created') },
        },
      },
      async (req, reply) => reply.status(201).send(ok(await ctx.instances.create(req.body, actorOf(req), { duplicateGuard: true }))),
    );
    app.get(
      '/api/instances/:id',
      {
        config: { access: 'viewer' },
        schema: { ...base, operationId: 'getInstance', summary: 'One instance with its last sync state', params: IdParams, response: { 200: Ok(Instance) } },
      },
      async (req) => ok(await ctx.instances.get(req.params.id)),
    );
    app.patch(
      '/api/instances/:id',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'updateInstance',
          summary: 'Update an instance',
          params: IdParams,
          body: UpdateInstanceBody,
          response: { 200: Ok(Instance) },
        },
      },
      async (req) => ok(await ctx.instances.update(req.params.id, req.body, actorOf(req), { duplicateGuard: true })),
    );
    app.delete(
      '/api/instances/:id',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'deleteInstance',
          summary: 'Delete an instance and its history',
          params: IdParams,
          response: { 200: Ok(Type.Null(), 'Deleted') },
        },
      },
      async (req) => {
        await ctx.instances.delete(req.params.id, actorOf(req));
        return ok(null, msg('api.instance_deleted'), apiLocale(req));
      },
    );
    app.post(
      '/api/instances/:id/test-connection',
      {
        config: { access: 'operator' },
        schema: {
          ...base,
          operationId: 'testInstanceConnection',
          summary: 'Test the connection with the stored credential',
          params: IdParams,
          response: { 200: Ok(ConnectionProbe, 'Connected') },
        },
      },
      async (req) => {
        const { server_version, latency_ms } = await ctx.connections.probe(req.params.id);
        return ok({ server_version, latency_ms }, msg('api.connection.ok', { version: server_version }), apiLocale(req));
      },
    );
    app.post(
      '/api/instances/:id/doctor',
      {
        config: { access: 'operator' },
        schema: {
          ...base,
          operationId: 'checkInstanceGrants',
          summary: 'Which grants the collector needs are present; what is under-counted; the GRANTs that fix it',
          params: IdParams,
          response: { 200: Ok(DoctorReport) },
        },
      },
      async (req) => {
        const r = await ctx.connections.probe(req.params.id, { grants: true });
        const locale = apiLocale(req);
        const summary = r.ok ? msg('doctor.summary_ok') : msg('doctor.summary_missing', { count: r.checks.filter((c) => !c.ok).length });
        return ok({ ...r, checks: r.checks.map((c) => localizeCheck(c, locale)) }, summary, locale);
      },
    );
    app.get(
      '/api/engines',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listEngines',
          summary: 'Supported engines: default port, whether a database/service name is needed, engine options',
          response: { 200: Ok(Type.Array(Engine)) },
        },
      },
      async () =>
        ok(
          Object.values(engines).map((e) => ({
            db_type: e.dbType,
            label: e.label,
            default_port: e.defaultPort,
            needs_database_name: e.needsDatabaseName,
            options: e.options,
          })),
        ),
    );
    app.get(
      '/api/instances/:id/databases',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listInstanceDatabases',
          summary: 'Databases online and deleted, latest sizes, first/last seen',
          params: IdParams,
          response: { 200: Ok(InstanceDatabases) },
        },
      },
      async (req) => ok(await ctx.capacity.databases(req.params.id, apiLocale(req))),
    );
    app.get(
      '/api/instances/:id/capacity',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getInstanceCapacity',
          response: { 200: Ok(CapacityHistory) },
          summary: 'Daily totals of the instance (default: the last 30 days)',
          params: IdParams,
          querystring: Type.Object(
            { from: Type.Optional(DateStr), to: Type.Optional(DateStr), period: Type.Optional(Type.String({ maxLength: 16 })) },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => ok(await ctx.capacity.history(req.params.id, req.query)),
    );
    app.get(
      '/api/instances/:id/sync-records',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listInstanceSyncRecords',
          response: { 200: Ok(Type.Array(InstanceSyncRecord)) },
          summary: "The instance's sync records, newest first",
          params: IdParams,
          querystring: SyncRecordListQuery,
        },
      },
      async (req) => ok(await ctx.capacity.syncRecords(req.params.id, req.query.limit ?? 50)),
    );
  };
