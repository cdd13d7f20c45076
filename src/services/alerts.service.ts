/**
 * Alert rules and their evaluation. `evaluate()` runs after every sync record
 * (see `attach`) and may be called after aggregation: for each active rule it
 * computes the conditions that hold now, opens an event for each new one,
 * leaves an already-open one alone (no second notification), and resolves
 * open events whose condition no longer holds. The store guarantees one open event per rule + instance +
 * database and queues exactly one delivery per channel per transition (alerts.repository.ts).
 */
import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import { decryptSecret, reencryptSecret, type KeyRing } from '../lib/crypto.js';
import { compileGlob } from '../lib/glob.js';
import { msg } from '../client/shared/i18n/index.js';
import type { Logger } from '../lib/logger.js';
import type { AlertRuleRow, AlertsRepository, FiringCondition } from '../store/alerts.repository.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow } from '../store/schema.js';
import type { AlertDeliveryService } from './alert-delivery.service.js';
import { viewerDeliveryError, type ChannelType } from './alert-delivery.service.js';
import { channelUrl, maskedUrl, maskUrl, openUrl, sealUrl } from './alerts/channel-url.js';
import { diff, type Actor, type AuditService } from './audit.service.js';
import type { SyncEvents } from './capacity-sync.service.js';
import { bilingualText, publicEvent } from './alerts/event-message.js';
import { RULE_EVALUATORS, type RuleKind } from './alerts/rule-kinds.js';
import { FIELDS, validateRule, type Channel } from './alerts/rule-input.js';
import { fail, oneOf } from './validate.js';

export type { Channel } from './alerts/rule-input.js';

export { FIT_DAYS, RULE_KINDS, type RuleKind } from './alerts/rule-kinds.js';
import { WINDOWS, type RuleWindow } from '../domain/alerts.js';
export { WINDOWS, type RuleWindow };

/** A channel as the API shows it: URL masked, the secret never returned (only whether one is set). */
export interface PublicChannel {
  type: ChannelType;
  url: string;
  has_secret: boolean;
}

/** A rule as the API shows it: channel URLs masked (their tokens are secrets). */
export interface AlertRule {
  id: number;
  name: string;
  kind: RuleKind;
  instance_id: number | null;
  db_type: string | null;
  tag: string | null;
  database_pattern: string | null;
  threshold: number | null;
  window: RuleWindow | null;
  consecutive: number | null;
  limit_bytes: number | null;
  is_active: boolean;
  channels: PublicChannel[];
  created_at: string;
  updated_at: string;
}

export interface AlertsDeps {
  repo: AlertsRepository;
  instances: InstancesRepository;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  /** When set, evaluate() kicks a delivery pass for what it queued. */
  delivery?: AlertDeliveryService;
  /** Encrypts channel signing secrets (and decrypts them for the delivery service). */
  keys: KeyRing;
}

export interface EvaluateTrigger {
  /** Only these instances (after a sync record); all in scope when omitted. */
  instanceIds?: number[];
  /** Of those, the instances whose latest capacity sync record completed (no `sync_failing` read for them). */
  justCompleted?: ReadonlySet<number>;
}

export interface EvaluateSummary {
  rules: number;
  fired: number;
  resolved: number;
  still_firing: number;
}

function toRule(r: AlertRuleRow, keys: KeyRing): AlertRule {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind as RuleKind,
    instance_id: r.instance_id,
    db_type: r.db_type,
    tag: r.tag,
    database_pattern: r.database_pattern,
    threshold: r.threshold,
    window: r.window as RuleWindow | null,
    consecutive: r.consecutive,
    limit_bytes: r.limit_bytes,
    is_active: r.is_active === 1,
    channels: (JSON.parse(r.channels) as Channel[]).map((c) => ({
      type: c.type,
      url: c.url_enc !== undefined ? maskedUrl(keys, c.url_enc) : maskUrl(c.url ?? ''),
      has_secret: Boolean(c.secret_enc),
    })),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/**
 * How long a batch record's evaluation waits for other records of the batch to finish (they are evaluated
 * together): 200 ms gathers a dozen records of a 16-place worker into one evaluation (3 reads), 50 ms did 4.
 */
const BATCH_GATHER_MS = 200;

export class AlertsService {
  /** Evaluations run one at a time per process: a record event arriving mid-evaluation waits its turn. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Instances waiting for the next queued evaluation (evaluateSoon) → whether their latest record completed; and that evaluation. */
  private readonly pending = new Map<number, boolean>();
  private pendingRun?: Promise<EvaluateSummary>;

  constructor(private readonly d: AlertsDeps) {
    // The delivery service sends; the secrets are ours (the rule's channels): it asks for them by delivery.
    if (d.delivery) {
      d.delivery.secrets = (rule, delivery) => this.channelSecret(rule, delivery);
      d.delivery.urls = (stored) => openUrl(this.d.keys, stored);
    }
  }

  /** The decrypted signing secret of the rule's channel a delivery was queued for; null when it has none. */
  private channelSecret(rule: { channels: string }, delivery: { channel: string; url: string }): string | null {
    const url = openUrl(this.d.keys, delivery.url);
    const c = (JSON.parse(rule.channels) as Channel[]).find((x) => x.type === delivery.channel && channelUrl(this.d.keys, x) === url);
    return c?.secret_enc ? decryptSecret(this.d.keys, c.secret_enc) : null;
  }

  /**
   * After a key rotation: every channel URL and signing secret, and every queued delivery's URL, encrypted with
   * the current key (a clear URL left from before 0019 is sealed too). Returns how many rows were rewritten.
   */
  async reencryptSecrets(): Promise<number> {
    const keys = this.d.keys;
    const rekey = (v: string) => (/^v1:/.test(v) ? reencryptSecret(keys, v) : sealUrl(keys, v));
    return this.d.repo.rekeyChannels((json) => {
      let changed = false;
      const out = (JSON.parse(json) as Channel[]).map(({ url, ...c }) => {
        const url_enc = rekey(c.url_enc ?? url ?? '');
        const secret_enc = c.secret_enc === undefined ? undefined : reencryptSecret(keys, c.secret_enc);
        if (url_enc === undefined && secret_enc === undefined) return url === undefined ? c : { ...c, url };
        changed = true;
        return { ...c, ...(url_enc !== undefined ? { url_enc } : {}), ...(secret_enc !== undefined ? { secret_enc } : {}) };
      });
      return changed ? JSON.stringify(out) : undefined;
    }, rekey);
  }

  // ---- rules ----

  async listRules(): Promise<AlertRule[]> {
    return (await this.d.repo.listRules()).map((r) => toRule(r, this.d.keys));
  }

  async getRule(id: number): Promise<AlertRule> {
    const r = await this.d.repo.getRule(id);
    if (!r) throw new AppError('not_found', msg('api.alert_rule_not_found', { id }));
    return toRule(r, this.d.keys);
  }

  async createRule(input: Record<string, unknown>, actor: Actor): Promise<AlertRule> {
    const clean = await validateRule(this.d, input);
    const now = this.d.clock.now().toISOString();
    const row = await this.d.repo.insertRule({ ...clean, created_at: now, updated_at: now });
    await this.d.audit.record(actor, {
      action: 'alert_rule.create',
      targetType: 'alert_rule',
      targetId: row.id,
      details: { ...toRule(row, this.d.keys), channels: toRule(row, this.d.keys).channels },
    });
    return toRule(row, this.d.keys);
  }

  /**
   * Patch a rule. The whole rule is revalidated (a kind change needs its own
   * fields). `channels` replaces the list; since the API only ever shows masked
   * URLs, a patch without `channels` keeps the stored (unmasked) ones.
   */
  async updateRule(id: number, patch: Record<string, unknown>, actor: Actor): Promise<AlertRule> {
    const cur = await this.d.repo.getRule(id);
    if (!cur) throw new AppError('not_found', msg('api.alert_rule_not_found', { id }));
    if (Object.keys(patch).length === 0) fail('body', msg('api.v.alert.nothing_to_change'));
    const merged: Record<string, unknown> = {
      name: cur.name,
      kind: cur.kind,
      instance_id: cur.instance_id,
      db_type: cur.db_type,
      tag: cur.tag,
      database_pattern: cur.database_pattern,
      threshold: cur.threshold,
      window: cur.window,
      consecutive: cur.consecutive,
      limit_bytes: cur.limit_bytes,
      is_active: cur.is_active === 1,
      channels: JSON.parse(cur.channels) as unknown,
    };
    // A kind change drops the old kind's fields unless the patch sets them again.
    if (patch.kind !== undefined && patch.kind !== cur.kind) {
      for (const k of ['threshold', 'window', 'consecutive', 'limit_bytes'] as const) merged[k] = null;
    }
    for (const k of Object.keys(patch)) {
      if (!(FIELDS as readonly string[]).includes(k)) fail(k, msg('api.v.unknown_field'));
      merged[k] = patch[k];
    }
    const clean = await validateRule(this.d, merged, id, JSON.parse(cur.channels) as Channel[]);
    const now = this.d.clock.now().toISOString();
    const row = (await this.d.repo.updateRule(id, { ...clean, updated_at: now }))!;
    // A rule switched off or redefined no longer vouches for its open events: close them quietly.
    const redefined = ['kind', 'threshold', 'window', 'consecutive', 'limit_bytes', 'instance_id', 'db_type', 'tag', 'database_pattern'].some(
      (k) => k in patch,
    );
    if (row.is_active === 0 || redefined) {
      for (const ev of await this.d.repo.openEvents(id)) await this.d.repo.resolve(ev.id, now, []);
    }
    await this.d.audit.record(actor, {
      action: 'alert_rule.update',
      targetType: 'alert_rule',
      targetId: id,
      details: {
        changed: diff(toRule(cur, this.d.keys) as unknown as Record<string, unknown>, toRule(row, this.d.keys) as unknown as Record<string, unknown>),
      },
    });
    return toRule(row, this.d.keys);
  }

  async deleteRule(id: number, actor: Actor): Promise<void> {
    if (!(await this.d.repo.deleteRule(id))) throw new AppError('not_found', msg('api.alert_rule_not_found', { id }));
    await this.d.audit.record(actor, { action: 'alert_rule.delete', targetType: 'alert_rule', targetId: id });
  }

  // ---- events ----

  /** Events, newest first; `tag` keeps those of instances carrying that tag. */
  async listEvents(q: { limit?: number; offset?: number; state?: string; rule_id?: number; instance_id?: number; tag?: string }) {
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const state = q.state === undefined ? undefined : oneOf('state', q.state, ['firing', 'resolved'] as const);
    const instanceIds = q.tag === undefined ? undefined : (await this.d.instances.list({ tag: q.tag })).map((i) => i.id);
    const page = await this.d.repo.listEvents({ limit, offset, state, ruleId: q.rule_id, instanceId: q.instance_id, instanceIds });
    return { items: page.items.map(publicEvent), total: page.total, limit, offset };
  }

  /** One event with its rule and deliveries; `admin` sees the receivers' error excerpts, others the status only. */
  async getEvent(id: number, opts: { admin: boolean } = { admin: false }) {
    const ev = await this.d.repo.getEvent(id);
    if (!ev) throw new AppError('not_found', msg('api.alert_event_not_found', { id }));
    const rule = await this.d.repo.getRule(ev.rule_id);
    // Receivers' words and network errors are for admins only: a viewer could otherwise read internal services through a webhook.
    const redact = !opts.admin;
    const deliveries = (await this.d.repo.deliveriesOf(id)).map((d) => {
      const log = JSON.parse(d.log) as { attempt: number; at: string; http_status: number | null; error: string | null }[];
      return {
        ...d,
        url: maskedUrl(this.d.keys, d.url),
        error: redact ? viewerDeliveryError(d.error, d.http_status) : d.error,
        log: redact ? log.map((a) => ({ ...a, error: viewerDeliveryError(a.error, a.http_status) })) : log,
      };
    });
    return { ...publicEvent(ev), rule: rule ? toRule(rule, this.d.keys) : null, deliveries };
  }

  // ---- evaluation ----

  /** Listen to the sync service: each finished record re-evaluates its instance; a closed session sends what is due. */
  attach(events: EventEmitter<SyncEvents>): void {
    events.on('record', (o, syncType) => {
      if (o.status === 'skipped') return;
      // A batch's records are gathered for a moment: one evaluation (its reads of the rules and events) per handful.
      this.evaluateSoon(o.instance_id, o.status === 'completed', syncType === 'manual_single' ? 0 : BATCH_GATHER_MS).catch((err) =>
        this.d.logger.error({ err, instance_id: o.instance_id }, 'alert evaluation failed'),
      );
    });
    events.on('session', () => {
      this.d.delivery?.deliverDue().catch((err) => this.d.logger.error({ err }, 'alert delivery pass failed'));
    });
  }

  /** Resolves when queued evaluations are done (context close waits for it: no query on a closed store). */
  async idle(): Promise<void> {
    await this.chain;
  }

  /**
   * Evaluate this instance's rules after the evaluations already queued. Instances finishing while one
   * evaluation runs are gathered into the next: a batch of N records costs a few evaluations, not N.
   * `completed`: the instance's capacity sync record that triggers this just completed (the latest outcome counts).
   * `gatherMs`: wait this long first (when no evaluation is queued yet), gathering the instances finishing meanwhile.
   */
  evaluateSoon(instanceId: number, completed = false, gatherMs = 0): Promise<EvaluateSummary> {
    this.pending.set(instanceId, completed);
    if (!this.pendingRun) {
      const run = this.chain.then(async () => {
        if (gatherMs > 0) await sleep(gatherMs);
        const instanceIds = [...this.pending.keys()];
        const justCompleted = new Set(instanceIds.filter((id) => this.pending.get(id)));
        this.pending.clear();
        this.pendingRun = undefined;
        return this.evaluateNow({ instanceIds, justCompleted });
      });
      this.pendingRun = run;
      this.chain = run.catch(() => undefined);
    }
    return this.pendingRun;
  }

  /** Evaluate every active rule (for the given instances) now. */
  evaluate(trigger: EvaluateTrigger = {}): Promise<EvaluateSummary> {
    const run = this.chain.then(() => this.evaluateNow(trigger));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async evaluateNow(trigger: EvaluateTrigger): Promise<EvaluateSummary> {
    const rules = await this.d.repo.listRules({ active: true });
    const sum: EvaluateSummary = { rules: rules.length, fired: 0, resolved: 0, still_firing: 0 };
    if (!rules.length) return sum;
    const all = await this.d.instances.list({ active: true, ids: trigger.instanceIds });
    const only = trigger.instanceIds ? new Set(trigger.instanceIds) : undefined;
    for (const rule of rules) {
      const instances = all.filter((i) => inScope(rule, i)); // `all` is already only the triggering instances
      let conditions: FiringCondition[];
      const measured = new Map<string, number>();
      try {
        conditions = await this.conditions(rule, instances, measured, trigger.justCompleted);
      } catch (err) {
        // One broken rule must not stop the others.
        this.d.logger.error({ err, rule_id: rule.id }, 'alert rule evaluation failed');
        continue;
      }
      const now = this.d.clock.now().toISOString();
      // Each delivery row keeps the channel's URL encrypted (a clear one, before 0019, is sealed now).
      const targets = (JSON.parse(rule.channels) as Channel[]).map((c) => ({ channel: c.type, url: c.url_enc ?? sealUrl(this.d.keys, c.url ?? '') }));
      const open = new Map((await this.d.repo.openEvents(rule.id)).map((e) => [e.dedup_key, e]));
      for (const c of conditions) {
        const ev = open.get(c.dedup_key);
        if (ev) {
          await this.d.repo.touch(ev.id, c, now);
          sum.still_firing += 1;
          open.delete(c.dedup_key);
        } else if (await this.d.repo.fire(rule.id, c, now, targets)) {
          sum.fired += 1;
          this.d.logger.info({ rule_id: rule.id, rule: rule.name, key: c.dedup_key, value: c.value }, 'alert firing');
        }
      }
      // Open events not confirmed now are resolved, but only where we looked:
      // a single-instance evaluation says nothing about the other instances.
      const looked = new Set(instances.map((i) => i.id));
      for (const ev of open.values()) {
        const inView = !only || (ev.instance_id !== null && looked.has(ev.instance_id));
        if (!inView) continue;
        if (await this.d.repo.resolve(ev.id, now, targets, measured.get(ev.dedup_key) ?? null)) {
          sum.resolved += 1;
          this.d.logger.info({ rule_id: rule.id, rule: rule.name, key: ev.dedup_key }, 'alert resolved');
        }
      }
    }
    if ((sum.fired || sum.resolved) && this.d.delivery) {
      this.d.delivery.deliverDue().catch((err) => this.d.logger.error({ err }, 'alert delivery pass failed'));
    }
    return sum;
  }

  /** The conditions of one rule that hold now on the given instances (its kind's evaluator decides). */
  private async conditions(
    rule: AlertRuleRow,
    instances: InstanceRow[],
    measured = new Map<string, number>(),
    justCompleted?: ReadonlySet<number>,
  ): Promise<FiringCondition[]> {
    const out: FiringCondition[] = [];
    await RULE_EVALUATORS[rule.kind as RuleKind]({
      rule,
      instances,
      repo: this.d.repo,
      re: rule.database_pattern ? compileGlob(rule.database_pattern) : undefined,
      threshold: rule.threshold ?? 0,
      cond: (inst, database, value, msg) =>
        out.push({
          dedup_key: `${rule.id}:${inst.id}:${database ?? ''}`,
          instance_id: inst.id,
          instance_name: inst.name,
          database_name: database,
          value,
          message: bilingualText(msg),
          msg,
        }),
      saw: (inst, database, value) => measured.set(`${rule.id}:${inst.id}:${database ?? ''}`, value),
      justCompleted,
    });
    return out;
  }
}

/** Instance filters of a rule: its one instance, engine type, tag. */
function inScope(rule: AlertRuleRow, inst: InstanceRow): boolean {
  if (rule.instance_id !== null && rule.instance_id !== inst.id) return false;
  if (rule.db_type !== null && rule.db_type !== inst.db_type) return false;
  if (rule.tag !== null && !(JSON.parse(inst.tags) as string[]).includes(rule.tag)) return false;
  return true;
}
