/** /settings (admin): schedule, exclusions, the monthly report's showback, users, API tokens, alert rules; the client module uses the admin APIs. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { engines } from '../../engines/registry.js';
import { RULE_KINDS, WINDOWS } from '../../services/alerts.service.js';
import { CHANNEL_TYPES } from '../../services/alert-delivery.service.js';
import { ROLES } from '../../services/auth.service.js';
import { t } from '../../client/shared/i18n/index.js';
import { renderPage, requestLocale } from './render.js';

export const settingsPages =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tz = ctx.config.timeZone;
    app.get('/settings', { config: { access: 'admin' }, schema: { hide: true, summary: 'Settings page (admin)' } }, async (req, reply) =>
      renderPage(req, reply, tz, 'settings', {
        title: t(requestLocale(req), 'nav.settings'),
        nav: 'settings',
        script: 'settings',
        engines: Object.values(engines).map((e) => ({ db_type: e.dbType, label: e.label })),
        roles: ROLES,
        ruleKinds: RULE_KINDS,
        windows: WINDOWS,
        channelTypes: CHANNEL_TYPES,
      }),
    );
  };
