/**
 * GET /metrics: Prometheus exposition. Public in the access table (Prometheus
 * has no session), but when WHALEFALL_METRICS_TOKEN is set the scraper must
 * send `Authorization: Bearer <token>` (Prometheus `authorization:` config).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { MetricsService } from '../../services/metrics.service.js';
import { ErrorEnvelope, Text } from '../envelope.js';

export const metricsRoutes =
  (ctx: { metrics: MetricsService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/metrics',
      {
        config: { access: 'public' },
        schema: {
          tags: ['metrics'],
          operationId: 'getMetrics',
          response: { 200: Text('text/plain', 'Prometheus text exposition format 0.0.4'), 401: ErrorEnvelope },
          summary: 'Prometheus metrics (text exposition format); bearer WHALEFALL_METRICS_TOKEN when configured',
          security: [{ bearer: [] }],
        },
      },
      async (req, reply) => {
        const auth = req.headers.authorization;
        const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
        if (!ctx.metrics.authorized(bearer)) {
          // Answered here, not thrown: the route must work the same whichever error handler wraps it.
          return reply
            .status(401)
            .header('www-authenticate', 'Bearer realm="whalefall-metrics"')
            .send({ success: false, error: '需要有效的指标令牌 (valid metrics bearer token required)', error_code: 'unauthorized' });
        }
        const text = await ctx.metrics.scrape();
        return reply.header('content-type', ctx.metrics.contentType).header('cache-control', 'no-store').send(text);
      },
    );
  };
