import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { actorOf } from '../access.js';
import { apiLocale, Ok, ok } from '../envelope.js';
import { SettingsView } from './settings.schemas.js';
import { msg } from '../../client/shared/i18n/index.js';

export const settingsRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const base = { tags: ['settings'] };
    const view = async () => ({
      settings: await ctx.settings.effective(),
      defaults: ctx.settings.defaults(),
      time_zone: ctx.config.timeZone,
      scheduler_enabled: ctx.config.scheduler,
      queue: ctx.config.queue,
      next_runs: ctx.scheduler.nextRuns(),
      recent_runs: await ctx.repos.scheduler.list(undefined, 20),
    });
    app.get(
      '/api/settings',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'getSettings',
          summary: 'Effective settings, their defaults, next and recent scheduled runs',
          response: { 200: Ok(SettingsView) },
        },
      },
      async () => ok(await view()),
    );
    app.patch(
      '/api/settings',
      {
        config: { access: 'admin' },
        schema: {
          ...base,
          operationId: 'updateSettings',
          response: { 200: Ok(SettingsView, 'Saved') },
          summary: 'Change settings (null resets one to its default); applies to the next run',
          body: Type.Object(
            {
              sync_cron: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
              aggregation_cron: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
              sync_concurrency: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
              connections_per_instance: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
              connections_total: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
              connect_timeout_ms: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
              sync_timeout_ms: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
              sync_retries: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
              retry_base_delay_ms: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
              catch_up: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
              retention_days: Type.Optional(Type.Union([Type.Integer({ minimum: 30 }), Type.Null()])),
              showback_rate_per_gb_month: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
              showback_currency: Type.Optional(Type.Union([Type.String({ maxLength: 16 }), Type.Null()])),
              exclusions: Type.Optional(
                Type.Union([Type.Record(Type.String({ maxLength: 16 }), Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })), Type.Null()]),
              ),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => {
        await ctx.settings.update(req.body, actorOf(req));
        await ctx.scheduler.reschedule();
        return ok(await view(), msg('api.settings_saved'), apiLocale(req));
      },
    );
  };
