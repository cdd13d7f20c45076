import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { actorOf } from '../access.js';
import { apiLocale, Ok, ok } from '../envelope.js';
import { SettingsView, UpdateSettingsBody } from './settings.schemas.js';
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
          body: UpdateSettingsBody,
        },
      },
      async (req) => {
        await ctx.settings.update(req.body, actorOf(req));
        await ctx.scheduler.reschedule();
        return ok(await view(), msg('api.settings_saved'), apiLocale(req));
      },
    );
  };
