import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.js';
import { actorOf } from '../access.js';
import { apiLocale, IdParams, Ok, ok } from '../envelope.js';
import { AlertEvent, AlertEventListQuery, AlertEventPage, AlertRule, CreateAlertRuleBody, UpdateAlertRuleBody } from './alerts.schemas.js';
import { msg } from '../../client/shared/i18n/index.js';

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
          querystring: AlertEventListQuery,
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
          body: CreateAlertRuleBody,
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
          body: UpdateAlertRuleBody,
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
