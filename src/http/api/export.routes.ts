/**
 * CSV exports of the raw daily history, streamed (src/lib/csv.ts): the reply
 * body is a Readable fed page by page from the store.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ExportService } from '../../services/export.service.js';
import { IdParams, Text } from '../envelope.js';

const DateStr = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (inclusive)' });
const CSV = 'text/csv; charset=utf-8';
const DESCRIPTION =
  "RFC 4180 CSV with a UTF-8 BOM, streamed. Columns: collected_date, instance_id, instance_name, database_name, size_bytes, data_bytes, index_bytes, log_bytes, free_bytes, used_bytes, max_bytes, is_deleted, collected_at. Text cells starting with = + - @ are prefixed with ' (CSV injection).";

export const exportRoutes =
  (ctx: { exports: ExportService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const base = { tags: ['export'], description: DESCRIPTION };
    app.get(
      '/api/instances/:id/history.csv',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'exportInstanceHistory',
          response: { 200: Text('text/csv', 'The CSV (attachment)') },
          summary: "CSV of one instance's raw daily database sizes",
          params: IdParams,
          querystring: Type.Object({ from: Type.Optional(DateStr), to: Type.Optional(DateStr) }, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const body = await ctx.exports.instanceHistory(req.params.id, req.query);
        // The file name carries only the numeric id: no user text in a header.
        return reply.type(CSV).header('content-disposition', `attachment; filename="instance-${req.params.id}-history.csv"`).send(body);
      },
    );
    app.get(
      '/api/export/database-sizes.csv',
      {
        config: { access: 'viewer' },
        schema: {
          ...base,
          operationId: 'exportDatabaseSizes',
          response: { 200: Text('text/csv', 'The CSV (attachment)') },
          summary: 'CSV of the raw daily database sizes of the estate (date range, optionally one instance)',
          querystring: Type.Object(
            {
              from: Type.Optional(DateStr),
              to: Type.Optional(DateStr),
              instance_id: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const { from, to, instance_id } = req.query;
        const body = await ctx.exports.databaseSizes({ from, to, instanceId: instance_id });
        return reply.type(CSV).header('content-disposition', 'attachment; filename="database-sizes.csv"').send(body);
      },
    );
  };
