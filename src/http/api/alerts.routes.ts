import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { CHANNEL_TYPES } from '../../services/alert-delivery.service.js';
import { RULE_KINDS, WINDOWS } from '../../services/alerts.service.js';
import { actorOf } from '../access.js';
import { apiLocale, IdParams, Ok, ok, StringEnum } from '../envelope.js';
import { AlertEvent, AlertEventPage, AlertRule } from './alerts.schemas.js';
import { msg } from '../../client/shared/i18n/index.js';

const Channel = Type.Object(
  {
    type: StringEnum(CHANNEL_TYPES),
    url: Type.String({ minLength: 1, maxLength: 2000 }),
    secret: Type.Optional(
      Type.Union([
        Type.String({
          minLength: 1,
          maxLength: 200,
          description: 'signing secret (dingtalk 加签 SEC…, feishu): stored encrypted, never returned; omit to keep, null to remove',
        }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: false },
);
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

/** The rule fields; the service checks which ones each kind needs (one set of words for API and CLI). */
const ruleFields = {
  kind: StringEnum(RULE_KINDS),
  instance_id: Nullable(Type.Integer({ minimum: 1 })),
  db_type: Nullable(Type.String({ maxLength: 16 })),
  tag: Nullable(Type.String({ maxLength: 64 })),
  database_pattern: Nullable(Type.String({ maxLength: 255 })),
  threshold: Nullable(Type.Number()),
  window: Nullable(StringEnum(WINDOWS)),
  consecutive: Nullable(Type.Integer()),
  limit_bytes: Nullable(Type.Integer({ minimum: 1 })),
  is_active: Type.Optional(Type.Boolean()),
  channels: Type.Optional(Type.Array(Channel, { maxItems: 10 })),
};

export const alertsRoutes =
  (ctx: Context): FastifyPluginAsyncTypebox =>
  async (app) => {
    const alerts = () => ctx.alerts;
    const events = { tags: ['alerts'] };
    const rules = { tags: ['alert-rules'] };
    app.get(
      '/api/alerts',
      {
        config: { access: 'viewer' },
        schema: {
          ...events,
          operationId: 'listAlerts',
          response: { 200: Ok(AlertEventPage) },
          summary: 'Alert events, newest first, paged (data.items, data.total), filtered by state, rule, instance and instance tag',
          querystring: Type.Object(
            {
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
              offset: Type.Optional(Type.Integer({ minimum: 0 })),
              state: Type.Optional(StringEnum(['firing', 'resolved'])),
              rule_id: Type.Optional(Type.Integer({ minimum: 1 })),
              instance_id: Type.Optional(Type.Integer({ minimum: 1 })),
              tag: Type.Optional(Type.String({ maxLength: 64 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => ok(await alerts().listEvents(req.query)),
    );
    app.get(
      '/api/alerts/:id',
      {
        config: { access: 'viewer' },
        schema: {
          ...events,
          operationId: 'getAlert',
          summary: 'One alert event with its rule and delivery log (webhook URLs masked)',
          params: IdParams,
          response: { 200: Ok(AlertEvent) },
        },
      },
      async (req) => ok(await alerts().getEvent(req.params.id, { admin: req.principal?.role === 'admin' })),
    );
    app.get(
      '/api/alert-rules',
      {
        config: { access: 'viewer' },
        schema: { ...rules, operationId: 'listAlertRules', summary: 'Alert rules (webhook URLs masked)', response: { 200: Ok(Type.Array(AlertRule)) } },
      },
      async () => ok(await alerts().listRules()),
    );
    app.post(
      '/api/alert-rules',
      {
        config: { access: 'admin' },
        schema: {
          ...rules,
          operationId: 'createAlertRule',
          response: { 201: Ok(AlertRule, 'Created') },
          summary: 'Create an alert rule',
          body: Type.Object({ name: Type.String({ maxLength: 128 }), ...ruleFields }, { additionalProperties: false }),
        },
      },
      async (req, reply) => reply.status(201).send(ok(await alerts().createRule(req.body, actorOf(req)), msg('api.rule_created'), apiLocale(req))),
    );
    app.patch(
      '/api/alert-rules/:id',
      {
        config: { access: 'admin' },
        schema: {
          ...rules,
          operationId: 'updateAlertRule',
          response: { 200: Ok(AlertRule) },
          summary: 'Change an alert rule; `channels` replaces the list (omit it to keep the stored URLs)',
          params: IdParams,
          body: Type.Object(
            { name: Type.Optional(Type.String({ maxLength: 128 })), ...ruleFields, kind: Type.Optional(StringEnum(RULE_KINDS)) },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => ok(await alerts().updateRule(req.params.id, req.body, actorOf(req)), msg('api.rule_saved'), apiLocale(req)),
    );
    app.delete(
      '/api/alert-rules/:id',
      {
        config: { access: 'admin' },
        schema: {
          ...rules,
          operationId: 'deleteAlertRule',
          summary: 'Delete an alert rule and its events',
          params: IdParams,
          response: { 200: Ok(Type.Null(), 'Deleted') },
        },
      },
      async (req) => {
        await alerts().deleteRule(req.params.id, actorOf(req));
        return ok(null, msg('api.rule_deleted'), apiLocale(req));
      },
    );
  };
