/**
 * Alert rules, events and deliveries: every SQL statement of the alerts
 * feature. Two invariants live here, in the store, so that concurrent
 * evaluators (several processes after a batch sync) cannot break them:
 * - one open event per dedup key (UNIQUE `open_key`, see 0005_alerts.ts);
 * - each transition writes its delivery rows in the same transaction as the
 *   transition itself, and only when this caller made the transition.
 */
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Msg } from '../client/shared/i18n/index.js';
import type { AlertDeliveriesTable, AlertEventsTable, AlertRulesTable, Database } from './schema.js';
import { notSnapshotOn } from './snapshot-churn.sql.js';

export type { AlertDeliveriesTable, AlertEventsTable, AlertRulesTable };

export type AlertRuleRow = Selectable<AlertRulesTable>;
export type NewAlertRule = Insertable<AlertRulesTable>;
export type AlertRuleUpdate = Updateable<AlertRulesTable>;
export type AlertEventRow = Selectable<AlertEventsTable>;
export type AlertDeliveryRow = Selectable<AlertDeliveriesTable>;

type Db = Kysely<Database>;

/** What a delivery row needs besides its event. */
export interface DeliveryTarget {
  channel: string;
  url: string;
}

/** A condition that holds now, as the evaluator found it. */
export interface FiringCondition {
  dedup_key: string;
  instance_id: number | null;
  instance_name: string | null;
  database_name: string | null;
  value: number | null;
  message: string;
  /** `message` by key (the UI shows it in the user's language). */
  msg: Msg;
}

export class AlertsRepository {
  constructor(private readonly db: Db) {}

  // ---- rules ----

  listRules(filter: { active?: boolean } = {}): Promise<AlertRuleRow[]> {
    let q = this.db.selectFrom('alert_rules').selectAll();
    if (filter.active !== undefined) q = q.where('is_active', '=', filter.active ? 1 : 0);
    return q.orderBy('id').execute();
  }

  getRule(id: number): Promise<AlertRuleRow | undefined> {
    return this.db.selectFrom('alert_rules').selectAll().where('id', '=', id).executeTakeFirst();
  }

  getRuleByName(name: string): Promise<AlertRuleRow | undefined> {
    return this.db.selectFrom('alert_rules').selectAll().where('name', '=', name).executeTakeFirst();
  }

  insertRule(row: NewAlertRule): Promise<AlertRuleRow> {
    return this.db.insertInto('alert_rules').values(row).returningAll().executeTakeFirstOrThrow();
  }

  updateRule(id: number, patch: AlertRuleUpdate): Promise<AlertRuleRow | undefined> {
    return this.db.updateTable('alert_rules').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  }

  /** Every rule's channels (JSON, URLs and signing secrets sealed) and every delivery's URL: what `keys remove` checks. */
  async sealedChannels(): Promise<{ channels: string[]; urls: string[] }> {
    const [rules, deliveries] = await Promise.all([
      this.db.selectFrom('alert_rules').select('channels').execute(),
      this.db.selectFrom('alert_deliveries').select('url').execute(),
    ]);
    return { channels: rules.map((r) => r.channels), urls: deliveries.map((d) => d.url) };
  }

  /**
   * Rewrite every rule's channels and every delivery's URL with `rekey` (key rotation), in one transaction:
   * `rekey` returns the new value, or undefined to keep the row as it is.
   */
  async rekeyChannels(rekeyChannels: (channels: string) => string | undefined, rekeyUrl: (url: string) => string | undefined): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      let n = 0;
      for (const r of await trx.selectFrom('alert_rules').select(['id', 'channels']).execute()) {
        const v = rekeyChannels(r.channels);
        if (v === undefined) continue;
        await trx.updateTable('alert_rules').set({ channels: v }).where('id', '=', r.id).execute();
        n++;
      }
      for (const d of await trx.selectFrom('alert_deliveries').select(['id', 'url']).execute()) {
        const v = rekeyUrl(d.url);
        if (v === undefined) continue;
        await trx.updateTable('alert_deliveries').set({ url: v }).where('id', '=', d.id).execute();
        n++;
      }
      return n;
    });
  }

  async deleteRule(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('alert_rules').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- events ----

  openEvents(ruleId: number): Promise<AlertEventRow[]> {
    return this.db.selectFrom('alert_events').selectAll().where('rule_id', '=', ruleId).where('state', '=', 'firing').execute();
  }

  /**
   * Open an event for a condition and queue its firing deliveries, atomically.
   * Returns undefined when an event is already open for the key (another
   * evaluator won): no second event, no second delivery.
   */
  async fire(ruleId: number, c: FiringCondition, at: string, targets: DeliveryTarget[]): Promise<AlertEventRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const ev = await trx
        .insertInto('alert_events')
        .values({
          rule_id: ruleId,
          dedup_key: c.dedup_key,
          open_key: c.dedup_key,
          instance_id: c.instance_id,
          instance_name: c.instance_name,
          database_name: c.database_name,
          state: 'firing',
          value: c.value,
          message: c.message,
          message_msg: JSON.stringify(c.msg),
          fired_at: at,
          resolved_at: null,
          last_evaluated_at: at,
        })
        .onConflict((oc) => oc.column('open_key').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!ev) return undefined;
      await this.queueDeliveries(trx, ev.id, 'firing', targets, at);
      return ev;
    });
  }

  /** A condition still true: refresh value and evaluation time, nothing is sent. */
  async touch(eventId: number, c: Pick<FiringCondition, 'value' | 'message' | 'msg'>, at: string): Promise<void> {
    await this.db
      .updateTable('alert_events')
      .set({ value: c.value, message: c.message, message_msg: JSON.stringify(c.msg), last_evaluated_at: at })
      .where('id', '=', eventId)
      .where('state', '=', 'firing')
      .execute();
  }

  /** Resolve an open event and queue its resolved deliveries; false when it was no longer open. */
  /**
   * Close a firing event. Its value becomes `current`, the value when it
   * recovered (null when the rule measures none then); the firing value stays
   * in the event's message.
   */
  async resolve(eventId: number, at: string, targets: DeliveryTarget[], current: number | null = null): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('alert_events')
        .set({ state: 'resolved', open_key: null, resolved_at: at, last_evaluated_at: at, value: current })
        .where('id', '=', eventId)
        .where('state', '=', 'firing')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await this.queueDeliveries(trx, eventId, 'resolved', targets, at);
      return true;
    });
  }

  private async queueDeliveries(trx: Db, eventId: number, transition: string, targets: DeliveryTarget[], at: string): Promise<void> {
    if (!targets.length) return;
    await trx
      .insertInto('alert_deliveries')
      .values(
        targets.map((t) => ({
          event_id: eventId,
          transition,
          channel: t.channel,
          url: t.url,
          attempt: 0,
          status: 'pending',
          http_status: null,
          error: null,
          log: '[]',
          next_attempt_at: at,
          created_at: at,
          updated_at: at,
        })),
      )
      .execute();
  }

  getEvent(id: number): Promise<AlertEventRow | undefined> {
    return this.db.selectFrom('alert_events').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listEvents(f: { limit: number; offset: number; state?: string; ruleId?: number; instanceId?: number; instanceIds?: number[] }) {
    if (f.instanceIds && f.instanceIds.length === 0) return { items: [], total: 0 };
    let q = this.db.selectFrom('alert_events as e').innerJoin('alert_rules as r', 'r.id', 'e.rule_id');
    if (f.instanceIds) q = q.where('e.instance_id', 'in', f.instanceIds);
    if (f.state) q = q.where('e.state', '=', f.state);
    if (f.ruleId) q = q.where('e.rule_id', '=', f.ruleId);
    if (f.instanceId) q = q.where('e.instance_id', '=', f.instanceId);
    const [items, total] = await Promise.all([
      q.selectAll('e').select(['r.name as rule_name', 'r.kind as rule_kind']).orderBy('e.id', 'desc').limit(f.limit).offset(f.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items, total: Number(total.n) };
  }

  // ---- deliveries ----

  deliveriesOf(eventId: number): Promise<AlertDeliveryRow[]> {
    return this.db.selectFrom('alert_deliveries').selectAll().where('event_id', '=', eventId).orderBy('id').execute();
  }

  /** Pending deliveries whose time has come, oldest first. */
  dueDeliveries(now: string, limit: number): Promise<AlertDeliveryRow[]> {
    return this.db
      .selectFrom('alert_deliveries')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * Claim a due delivery for one sender: move its next_attempt_at past the
   * request timeout, only if nobody moved it since we read it. A second
   * process reading the same row then finds the claim taken.
   */
  async claim(id: number, seenNextAttemptAt: string | null, leaseUntil: string): Promise<boolean> {
    let q = this.db.updateTable('alert_deliveries').set({ next_attempt_at: leaseUntil }).where('id', '=', id).where('status', '=', 'pending');
    q = seenNextAttemptAt === null ? q.where('next_attempt_at', 'is', null) : q.where('next_attempt_at', '=', seenNextAttemptAt);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async recordAttempt(
    id: number,
    a: {
      attempt: number;
      status: 'pending' | 'delivered' | 'failed';
      http_status: number | null;
      error: string | null;
      next_attempt_at: string | null;
      log: string;
      at: string;
    },
  ): Promise<void> {
    await this.db
      .updateTable('alert_deliveries')
      .set({
        attempt: a.attempt,
        status: a.status,
        http_status: a.http_status,
        error: a.error,
        next_attempt_at: a.next_attempt_at,
        log: a.log,
        updated_at: a.at,
      })
      .where('id', '=', id)
      .execute();
  }

  // ---- data the evaluator reads ----

  /** The latest instance_size_stats row of each instance. */
  latestInstanceTotals(instanceIds: number[]) {
    if (!instanceIds.length) return Promise.resolve([]);
    return this.db
      .selectFrom('instance_size_stats as s')
      .select(['s.instance_id', 's.collected_date', 's.total_size_bytes'])
      .where('s.instance_id', 'in', instanceIds)
      .where('s.collected_date', '=', (eb) =>
        eb
          .selectFrom('instance_size_stats as m')
          .select((e2) => e2.fn.max('m.collected_date').as('d'))
          .whereRef('m.instance_id', '=', 's.instance_id'),
      )
      .execute();
  }

  /** Daily totals of one instance from `from` (inclusive), oldest first. */
  instanceSeries(instanceId: number, from: string) {
    return this.db
      .selectFrom('instance_size_stats')
      .select(['collected_date', 'total_size_bytes'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', '>=', from)
      .orderBy('collected_date')
      .execute();
  }

  /** The most recent total on or before `day`. */
  instanceTotalOnOrBefore(instanceId: number, day: string) {
    return this.db
      .selectFrom('instance_size_stats')
      .select(['collected_date', 'total_size_bytes'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', '<=', day)
      .orderBy('collected_date', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Present databases of the instance's latest collected day, with their sizes and limits. */
  async latestDatabaseSizes(instanceId: number) {
    const last = await this.db
      .selectFrom('database_size_stats')
      .select((eb) => eb.fn.max('collected_date').as('d'))
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    if (!last?.d) return [];
    return this.db
      .selectFrom('database_size_stats')
      .select(['database_name', 'collected_date', 'size_bytes', 'max_bytes'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', '=', last.d)
      .where('is_deleted', '=', 0)
      .execute();
  }

  /** Each database's most recent size on or before `day` (for growth baselines). */
  databaseSizesOnOrBefore(instanceId: number, day: string) {
    return this.db
      .selectFrom('database_size_stats as s')
      .select(['s.database_name', 's.collected_date', 's.size_bytes'])
      .where('s.instance_id', '=', instanceId)
      .where('s.collected_date', '=', (eb) =>
        eb
          .selectFrom('database_size_stats as m')
          .select((e2) => e2.fn.max('m.collected_date').as('d'))
          .whereRef('m.instance_id', '=', 's.instance_id')
          .whereRef('m.database_name', '=', 's.database_name')
          .where('m.collected_date', '<=', day),
      )
      .execute();
  }

  /** Daily sizes of the instance's databases from `from`, oldest first. */
  databaseSeries(instanceId: number, from: string) {
    return this.db
      .selectFrom('database_size_stats')
      .select(['database_name', 'collected_date', 'size_bytes'])
      .where('instance_id', '=', instanceId)
      .where('collected_date', '>=', from)
      .where('is_deleted', '=', 0)
      .orderBy('database_name')
      .orderBy('collected_date')
      .execute();
  }

  /** Databases currently marked deleted on the instance (lifecycle), with when; a dropped snapshot is not one. */
  deletedDatabases(instanceId: number) {
    return this.db
      .selectFrom('instance_databases as d')
      .select(['d.database_name', 'd.deleted_at'])
      .where('d.instance_id', '=', instanceId)
      .where('d.is_deleted', '=', 1)
      .where(notSnapshotOn('d', 'last_seen_date'))
      .execute();
  }

  /** The instance's capacity sync records in the given states (table-level runs have their own records and do not count here). */
  private capacityRecords(instanceId: number, states: string[]) {
    return this.db
      .selectFrom('sync_instance_records')
      .where('instance_id', '=', instanceId)
      .where('status', 'in', states)
      .where('session_id', 'in', (eb) => eb.selectFrom('sync_sessions').select('session_id').where('sync_category', '=', 'capacity'));
  }

  /** The instance's latest finished sync records (completed or failed), newest first. */
  recentFinishedRecords(instanceId: number, limit: number) {
    return this.capacityRecords(instanceId, ['completed', 'failed'])
      .select(['id', 'status', 'error_message', 'error_msg', 'completed_at'])
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  /** How many capacity syncs of the instance failed since its last completed one (the whole streak, however long). */
  async failedInARow(instanceId: number): Promise<number> {
    const last = await this.capacityRecords(instanceId, ['completed'])
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    const r = await this.capacityRecords(instanceId, ['failed'])
      .where('id', '>', Number(last?.id ?? 0))
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
