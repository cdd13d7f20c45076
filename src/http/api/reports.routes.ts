/**
 * Reports: the monthly capacity report (GET /api/reports/capacity) as HTML,
 * CSV or PDF, in zh-CN or English (`lang`, else Accept-Language). Read-only:
 * viewer, like the statistics it is made of.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CapacityReportService } from '../../services/capacity-report.service.js';
import { ErrorEnvelope, Text } from '../envelope.js';
import { CapacityReportQuery } from './reports.schemas.js';

export const reportsRoutes =
  (ctx: { capacityReport: CapacityReportService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/api/reports/capacity',
      {
        config: { access: 'viewer' },
        // The HTML report carries its own <style> (it is also the PDF's and the email's source): a CSP for a document with no script.
        helmet: {
          contentSecurityPolicy: {
            useDefaults: false,
            directives: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], imgSrc: ['data:'], frameAncestors: ["'none'"] },
          },
        },
        schema: {
          tags: ['reports'],
          operationId: 'getCapacityReport',
          response: {
            200: Text(['text/html', 'text/csv', 'application/pdf'], 'The report: HTML (default), or CSV / PDF as an attachment'),
            503: { ...ErrorEnvelope, 'x-response-description': 'PDF asked for but this server has no chromium (error_code unavailable)' },
          },
          summary:
            'Monthly capacity report: estate and per-tag totals with month-over-month change, showback, top growers, the 10 shortest runways, cleanup candidates with estimated savings',
          querystring: CapacityReportQuery,
        },
      },
      async (req, reply) => {
        const lang = req.query.lang ?? (/^\s*en\b/i.test(req.headers['accept-language'] ?? '') ? 'en' : 'zh-CN');
        const doc = await ctx.capacityReport.document(req.query.month ?? ctx.capacityReport.lastMonth(), req.query.format ?? 'html', lang);
        reply.type(doc.type).header('content-language', lang);
        if (req.query.format && req.query.format !== 'html') reply.header('content-disposition', `attachment; filename="${doc.filename}"`);
        return reply.send(doc.body);
      },
    );
  };
