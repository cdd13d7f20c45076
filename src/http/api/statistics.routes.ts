/**
 * Statistics API: estate summary, top growers, new/deleted databases, series
 * and forecasts (viewer), on-demand aggregation (admin). Every view answers
 * JSON in the envelope, or CSV with `?format=csv` (streamed via src/lib/csv.ts).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { csvStream } from '../../lib/csv.js';
import type { AggregationService } from '../../services/aggregation.service.js';
import type { RunwayService } from '../../services/runway.service.js';
import type { StatisticsService } from '../../services/statistics.service.js';
import { apiLocale, IdParams, Ok, ok, OkOrCsv, StringEnum } from '../envelope.js';
import {
  AggregateResult,
  CapacityQuery,
  CapacityStatistics,
  DatabaseChanges,
  DatabaseForecast,
  DatabaseSeriesQuery,
  EstateSummary,
  IncludeSystem,
  InstanceForecast,
  QueryTag,
  RunwayList,
  RunwayQuery,
  Series,
  SeriesQuery,
  TopGrowers,
} from './statistics.schemas.js';
import { msg } from '../../client/shared/i18n/index.js';

const DateStr = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (local date, inclusive)' });
const Period = StringEnum(['daily', 'weekly', 'monthly', 'quarterly'] as const);
const Format = Type.Optional(StringEnum(['json', 'csv'] as const));
const DatabaseName = Type.String({ minLength: 1, maxLength: 512 });
const SERIES_COLUMNS = [
  'period_start',
  'period_end',
  'avg_bytes',
  'max_bytes',
  'min_bytes',
  'last_bytes',
  'days_with_data',
  'change_bytes',
  'change_pct',
  'trend',
] as const;
const FORECAST_COLUMNS = [
  'scope',
  'instance_id',
  'database_name',
  'state',
  'days_until_full',
  'full_date',
  'limit_bytes',
  'limit_source',
  'slope_bytes_per_day',
  'r2',
  'points_used',
  'window_days',
] as const;

const RUNWAY_COLUMNS = [
  'instance_id',
  'instance_name',
  'db_type',
  'database_name',
  'state',
  'days_until_full',
  'full_date',
  'low_days',
  'high_days',
  'growth_bytes_per_day',
  'ceiling_bytes',
  'ceiling_source',
  'fit_start_date',
  'change_point_date',
  'backtest_mape',
  'latest_date',
  'latest_bytes',
  'points_used',
] as const;

function sendCsv<T>(reply: FastifyReply, name: string, columns: readonly (keyof T & string)[], rows: Iterable<T>) {
  // Fixed file names: no user text in a header.
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(csvStream(columns, rows));
}

export const statisticsRoutes =
  (ctx: { statistics: StatisticsService; aggregation: AggregationService; runway: RunwayService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const base = { tags: ['statistics'] };

    app.get(
      '/api/statistics/summary',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getEstateSummary',
          response: { 200: OkOrCsv(EstateSummary) },
          summary: 'Estate summary from the latest collection of each instance (optionally only the instances with a tag); per db type and per tag',
          querystring: Type.Object({ format: Format, tag: Type.Optional(QueryTag) }, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const s = await ctx.statistics.summary({ tag: req.query.tag });
        if (req.query.format !== 'csv') return ok(s);
        type Line = { group: string; key: string; instances: number; databases: number | null; total_bytes: number | null };
        const lines: Line[] = [
          { group: 'estate', key: 'total', instances: s.instances_total, databases: s.databases_total, total_bytes: s.total_bytes },
          ...s.by_db_type.map((g) => ({ group: 'db_type', key: g.db_type, instances: g.instances, databases: g.databases, total_bytes: g.total_bytes })),
          ...s.by_tag.map((g) => ({ group: 'tag', key: g.tag, instances: g.instances, databases: g.databases, total_bytes: g.total_bytes })),
        ];
        return sendCsv<Line>(reply, 'estate-summary', ['group', 'key', 'instances', 'databases', 'total_bytes'], lines);
      },
    );

    app.get(
      '/api/statistics/top-growers',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listTopGrowers',
          response: { 200: OkOrCsv(TopGrowers) },
          summary: 'Instances or databases that grew most (bytes or %) over the last 7/30/90 days',
          querystring: Type.Object(
            {
              scope: Type.Optional(StringEnum(['instance', 'database'] as const)),
              days: Type.Optional(Type.Union([Type.Literal(7), Type.Literal(30), Type.Literal(90)])),
              by: Type.Optional(StringEnum(['bytes', 'pct'] as const)),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
              to: Type.Optional(DateStr),
              format: Format,
              tag: Type.Optional(QueryTag),
              include_system: IncludeSystem,
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const { format, ...q } = req.query;
        const r = await ctx.statistics.topGrowers(q);
        if (format !== 'csv') return ok(r);
        return sendCsv(
          reply,
          'top-growers',
          ['instance_id', 'instance_name', 'database_name', 'first_bytes', 'last_bytes', 'change_bytes', 'change_pct'],
          r.items,
        );
      },
    );

    app.get(
      '/api/statistics/database-changes',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listDatabaseChanges',
          response: { 200: OkOrCsv(DatabaseChanges) },
          summary: 'Databases first seen and databases deleted in a window',
          querystring: Type.Object(
            { from: Type.Optional(DateStr), to: Type.Optional(DateStr), format: Format, tag: Type.Optional(QueryTag) },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const { format, ...q } = req.query;
        const r = await ctx.statistics.databaseChanges(q);
        if (format !== 'csv') return ok(r);
        type Line = {
          change: string;
          instance_id: number;
          instance_name: string;
          database_name: string;
          first_seen_date: string;
          last_seen_date: string;
          deleted_at: string | null;
        };
        const lines: Line[] = [...r.new_databases.map((d) => ({ change: 'new', ...d })), ...r.deleted_databases.map((d) => ({ change: 'deleted', ...d }))];
        return sendCsv<Line>(
          reply,
          'database-changes',
          ['change', 'instance_id', 'instance_name', 'database_name', 'first_seen_date', 'last_seen_date', 'deleted_at'],
          lines,
        );
      },
    );

    app.get(
      '/api/statistics/instances/:id/series',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getInstanceSeries',
          response: { 200: OkOrCsv(Series) },
          summary: "An instance's size per period (daily from raw rows, longer periods from aggregations)",
          params: IdParams,
          querystring: SeriesQuery,
        },
      },
      async (req, reply) => {
        const { format, ...q } = req.query;
        const r = await ctx.statistics.instanceSeries(req.params.id, q);
        return format === 'csv' ? sendCsv(reply, `instance-${req.params.id}-${r.period}`, SERIES_COLUMNS, r.points) : ok(r);
      },
    );
    app.get(
      '/api/statistics/instances/:id/database-series',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getDatabaseSeries',
          response: { 200: OkOrCsv(Series) },
          summary: "A database's size per period",
          params: IdParams,
          querystring: DatabaseSeriesQuery,
        },
      },
      async (req, reply) => {
        const { format, database, ...q } = req.query;
        const r = await ctx.statistics.databaseSeries(req.params.id, database, q);
        return format === 'csv' ? sendCsv(reply, `instance-${req.params.id}-database-${r.period}`, SERIES_COLUMNS, r.points) : ok(r);
      },
    );

    app.get(
      '/api/statistics/runway',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'listRunway',
          response: { 200: OkOrCsv(RunwayList) },
          summary:
            'What runs out first: days until full per instance or live database (robust fit since the last change point, 90 % interval, backtest MAPE), ranked ascending, nulls last',
          querystring: RunwayQuery,
        },
      },
      async (req, reply) => {
        const { format, ...q } = req.query;
        const r = await ctx.runway.list(q);
        return format === 'csv' ? sendCsv(reply, `runway-${r.scope}`, RUNWAY_COLUMNS, r.items) : ok(r);
      },
    );

    const ForecastQuery = {
      days: Type.Optional(Type.Integer({ minimum: 2, maximum: 3660, description: 'fit over the last N days (default 30)' })),
      format: Format,
    };
    app.get(
      '/api/statistics/instances/:id/forecast',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getInstanceForecast',
          response: { 200: OkOrCsv(InstanceForecast) },
          summary: 'Days until the instance reaches its capacity_limit_bytes option (linear fit, R²)',
          params: IdParams,
          querystring: Type.Object(ForecastQuery, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const r = await ctx.statistics.instanceForecast(req.params.id, { days: req.query.days });
        return req.query.format === 'csv' ? sendCsv(reply, `instance-${req.params.id}-forecast`, FORECAST_COLUMNS, [{ ...r, database_name: '' }]) : ok(r);
      },
    );
    app.get(
      '/api/statistics/instances/:id/database-forecast',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getDatabaseForecast',
          response: { 200: OkOrCsv(DatabaseForecast) },
          summary: 'Days until a database reaches the growth limit its engine reports (Oracle autoextend MAXBYTES)',
          params: IdParams,
          querystring: Type.Object({ ...ForecastQuery, database: DatabaseName }, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const r = await ctx.statistics.databaseForecast(req.params.id, req.query.database, { days: req.query.days });
        return req.query.format === 'csv' ? sendCsv(reply, `instance-${req.params.id}-database-forecast`, FORECAST_COLUMNS, [r]) : ok(r);
      },
    );

    app.get(
      '/api/statistics/capacity',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'getCapacityStatistics',
          response: { 200: OkOrCsv(CapacityStatistics) },
          summary: 'Capacity statistics pages: filtered total per period with its change, cards (online, total, average, max) and the TOP N series',
          querystring: CapacityQuery,
        },
      },
      async (req, reply) => {
        const { format, db_type, instance_id, ...q } = req.query;
        const r = await ctx.statistics.capacity({ ...q, dbType: db_type, instanceId: instance_id });
        if (format !== 'csv') return ok(r);
        // What the page shows: the total line, then each TOP N item's points.
        type Line = {
          series: string;
          instance_id: number | null;
          instance_name: string;
          db_type: string;
          database_name: string;
          period_start: string;
          period_end: string;
          size_bytes: number;
          change_bytes: number | null;
          change_pct: number | null;
        };
        const lines: Line[] = [
          ...r.total.map((p) => ({ series: 'total', instance_id: null, instance_name: '', db_type: '', database_name: '', ...p })),
          ...r.items.flatMap((it) =>
            it.points.map((p) => ({
              series: 'top',
              instance_id: it.instance_id,
              instance_name: it.instance_name,
              db_type: it.db_type,
              database_name: it.database_name,
              ...p,
            })),
          ),
        ];
        return sendCsv<Line>(
          reply,
          `capacity-${r.scope}-${r.period}`,
          ['series', 'instance_id', 'instance_name', 'db_type', 'database_name', 'period_start', 'period_end', 'size_bytes', 'change_bytes', 'change_pct'],
          lines,
        );
      },
    );

    app.post(
      '/api/statistics/aggregate',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'aggregateNow',
          response: { 200: Ok(AggregateResult, 'Aggregated') },
          summary: 'Recompute aggregates now for the periods overlapping [from, to] (default: the periods containing today)',
          body: Type.Optional(
            Type.Object({ period: Type.Optional(Period), from: Type.Optional(DateStr), to: Type.Optional(DateStr) }, { additionalProperties: false }),
          ),
        },
      },
      async (req) => ok(await ctx.aggregation.aggregate(req.body ?? {}), msg('api.aggregated'), apiLocale(req)),
    );
  };
