/**
 * Table-level capacity API (issue #9): sync the tables of one database or a
 * whole instance (operator), the tables of a database (sortable, searchable,
 * with the size split and totals for the split bar), one table's trend, the
 * top growing tables across the estate; every list also as CSV (`?format=csv`).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { csvStream } from '../../lib/csv.js';
import type { TablesService } from '../../services/tables.service.js';
import { localizeTableSync, TABLES_MSG } from '../../services/tables.service.js';
import { actorOf } from '../access.js';
import { apiLocale, IdParams, Ok, ok, OkOrCsv } from '../envelope.js';
import {
  TableDatabases,
  TableListQuery,
  TablePage,
  TableSeries,
  TableSeriesQuery,
  TableSync,
  TableSyncBody,
  TopGrowingQuery,
  TopGrowingTables,
} from './tables.schemas.js';

const TABLE_COLUMNS = [
  'table_id',
  'schema_name',
  'table_name',
  'kind',
  'parent',
  'total_bytes',
  'data_bytes',
  'index_bytes',
  'lob_bytes',
  'free_bytes',
  'row_estimate',
  'table_count',
  'method',
  'is_deleted',
  'first_seen_date',
  'last_seen_date',
] as const;
const SERIES_COLUMNS = ['collected_date', 'total_bytes', 'data_bytes', 'index_bytes', 'lob_bytes', 'free_bytes', 'row_estimate', 'is_deleted'] as const;
const GROWING_COLUMNS = [
  'table_id',
  'instance_id',
  'instance_name',
  'database_name',
  'schema_name',
  'table_name',
  'kind',
  'first_bytes',
  'last_bytes',
  'change_bytes',
  'change_pct',
] as const;

function sendCsv<T>(reply: FastifyReply, name: string, columns: readonly (keyof T & string)[], rows: Iterable<T>) {
  // Fixed file names (ids only): no user text in a header.
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(csvStream(columns, rows));
}

export const tablesRoutes =
  (ctx: { tables: TablesService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const base = { tags: ['tables'] };

    app.post(
      '/api/instances/:id/tables/sync',
      {
        config: { access: 'operator' },
        schema: {
          ...base,
          operationId: 'syncTables',
          response: { 200: Ok(TableSync, 'Collected') },
          summary: 'Collect table sizes now: the named databases, or every database of the instance (within its table budget)',
          params: IdParams,
          body: Type.Optional(TableSyncBody),
        },
      },
      async (req) => {
        const locale = apiLocale(req);
        const r = localizeTableSync(await ctx.tables.syncTables(req.params.id, { databases: req.body?.databases ?? null, actor: actorOf(req) }), locale);
        return ok(r, TABLES_MSG.success(r.saved_count, r.databases.filter((d) => d.error === undefined).length), locale);
      },
    );

    app.get(
      '/api/instances/:id/tables/databases',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listTableDatabases',
          summary: 'Databases of an instance that have table sizes, with their latest collected day',
          params: IdParams,
          response: { 200: Ok(TableDatabases) },
        },
      },
      async (req) => ok({ databases: await ctx.tables.databases(req.params.id) }),
    );

    app.get(
      '/api/instances/:id/tables',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listTables',
          response: { 200: OkOrCsv(TablePage) },
          summary: 'Tables of one database on its latest collected day (or `day`): sortable, searchable, paged; totals for the size split bar',
          params: IdParams,
          querystring: TableListQuery,
        },
      },
      async (req, reply) => {
        const { format, database, ...q } = req.query;
        const r = await ctx.tables.listTables(req.params.id, database, format === 'csv' ? { ...q, limit: q.limit ?? 100_000 } : q);
        if (format !== 'csv') return ok(r);
        const rows = r.items.map((x) => ({ ...x, parent: x.parent ? `${x.parent.schema_name}.${x.parent.table_name}` : null }));
        return sendCsv(reply, `instance-${req.params.id}-tables`, TABLE_COLUMNS, rows);
      },
    );

    app.get(
      '/api/tables/:id/series',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getTableSeries',
          response: { 200: OkOrCsv(TableSeries) },
          summary: "One table's daily sizes (the trend chart); default the last 90 days",
          params: IdParams,
          querystring: TableSeriesQuery,
        },
      },
      async (req, reply) => {
        const { format, ...q } = req.query;
        const r = await ctx.tables.series(req.params.id, q);
        return format === 'csv' ? sendCsv(reply, `table-${req.params.id}-series`, SERIES_COLUMNS, r.points) : ok(r);
      },
    );

    app.get(
      '/api/tables/top-growing',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listTopGrowingTables',
          response: { 200: OkOrCsv(TopGrowingTables) },
          summary: 'Tables that grew most (bytes) across the estate or one instance, between the first and last collected days of the window',
          querystring: TopGrowingQuery,
        },
      },
      async (req, reply) => {
        const { format, ...q } = req.query;
        const r = await ctx.tables.topGrowing(q);
        return format === 'csv' ? sendCsv(reply, 'top-growing-tables', GROWING_COLUMNS, r.items) : ok(r);
      },
    );
  };
