/**
 * Where a PostgreSQL instance's bytes went. Disjoint parts (they stack):
 *
 * - `heap` (tables' and materialized views' main, FSM and VM forks, minus the
 *   reclaimable estimate), `reclaimable`, `indexes`, `toast` (TOAST tables and
 *   their indexes), `other` (the rest of pg_database_size: catalogs' free
 *   space, sequences, files no relation owns): summed over every database we
 *   may connect to, per database in `detail.databases`;
 * - `reclaimable`: dead tuples' share of each table's main fork from the
 *   statistics (n_dead_tup / (live + n_dead_tup), live the larger of n_live_tup
 *   and reltuples: the two counters are updated at different times), method
 *   `pg_stat_dead_tuples`; exact with `pgstattuple_approx` where that
 *   extension is installed in the database (its dead tuples plus free space);
 * - `wal` (pg_wal minus what slots retain) and `wal_retained_by_slots`
 *   (per slot: name, type, active, bytes = pg_wal_lsn_diff(current LSN,
 *   restart_lsn); an inactive slot holding WAL is flagged). pg_ls_waldir()
 *   needs superuser or pg_monitor; without it `wal` is null with that reason.
 */
import type { CompositionPart } from '../../domain/composition.js';
import { msg, msgText, type Msg } from '../../client/shared/i18n/index.js';
import { why } from '../common.js';

/** What the composition needs from a connection: a query. */
export interface PgQuery {
  query<R>(text: string): Promise<{ rows: R[] }>;
}

export const COMPOSITION_METHOD = 'pg_class+pg_ls_waldir+pg_replication_slots';

/** One database's relations by kind (bytes as text: bigint sums). */
export const RELATIONS_QUERY = `
  SELECT
    coalesce(sum(CASE WHEN c.relkind IN ('r', 'm') THEN pg_relation_size(c.oid, 'main') + pg_relation_size(c.oid, 'fsm') + pg_relation_size(c.oid, 'vm') END), 0)::text AS heap,
    coalesce(sum(CASE WHEN c.relkind = 'i' AND n.nspname <> 'pg_toast' THEN pg_relation_size(c.oid) END), 0)::text AS indexes,
    coalesce(sum(CASE WHEN c.relkind = 't' OR (c.relkind = 'i' AND n.nspname = 'pg_toast') THEN pg_relation_size(c.oid) END), 0)::text AS toast,
    pg_database_size(current_database())::text AS total,
    EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple') AS has_pgstattuple
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace`;

/** Statistics-based estimate of the dead tuples' bytes. */
export const DEAD_ESTIMATE_QUERY = `
  SELECT coalesce(sum(CASE WHEN live + s.n_dead_tup > 0 THEN pg_relation_size(s.relid, 'main') * s.n_dead_tup::numeric / (live + s.n_dead_tup) END), 0)::bigint::text AS bytes
  FROM pg_stat_all_tables s JOIN pg_class c ON c.oid = s.relid,
       LATERAL (SELECT greatest(s.n_live_tup, c.reltuples, 0)::numeric AS live) l`;

/** pgstattuple_approx over the user tables: dead tuples plus free space, exact-ish (visibility map assisted). */
export const DEAD_EXACT_QUERY = `
  SELECT coalesce(sum(a.dead_tuple_len + a.approx_free_space), 0)::bigint::text AS bytes
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
       LATERAL pgstattuple_approx(c.oid) a
  WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`;

export const WALDIR_QUERY = `SELECT coalesce(sum(size), 0)::text AS bytes, count(*)::int AS files FROM pg_ls_waldir()`;

/** On a standby the current LSN is the last one received or replayed. */
export const SLOTS_QUERY = `
  SELECT slot_name, slot_type, active, wal_status,
         pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) ELSE pg_current_wal_lsn() END,
                         restart_lsn)::bigint::text AS bytes
  FROM pg_replication_slots ORDER BY slot_name`;

export interface RelationsRow {
  heap: string;
  indexes: string;
  toast: string;
  total: string;
  has_pgstattuple: boolean;
}

interface SlotRow {
  slot_name: string;
  slot_type: string;
  active: boolean;
  wal_status: string | null;
  bytes: string | null;
}

/** Per database: its relations and its reclaimable bytes, or why it could not be measured. */
export interface DatabaseRelations {
  database: string;
  relations?: RelationsRow;
  reclaimable?: { bytes: number; method: 'pgstattuple_approx' | 'pg_stat_dead_tuples' };
  error?: string;
  /** `error` by key, so a reason that lists the databases reads in the page's language. */
  error_msg?: Msg;
}

/** Measure one database over its own connection. */
export async function databaseRelations(database: string, q: PgQuery, reason: (err: unknown) => Msg): Promise<DatabaseRelations> {
  try {
    const relations = (await q.query<RelationsRow>(RELATIONS_QUERY)).rows[0]!;
    let reclaimable: DatabaseRelations['reclaimable'];
    if (relations.has_pgstattuple) {
      try {
        reclaimable = { bytes: Number((await q.query<{ bytes: string }>(DEAD_EXACT_QUERY)).rows[0]!.bytes), method: 'pgstattuple_approx' };
      } catch {
        // No EXECUTE on pgstattuple_approx (pg_stat_scan_tables): the statistics still give an estimate.
      }
    }
    reclaimable ??= { bytes: Number((await q.query<{ bytes: string }>(DEAD_ESTIMATE_QUERY)).rows[0]!.bytes), method: 'pg_stat_dead_tuples' };
    return { database, relations, reclaimable };
  } catch (err) {
    const m = reason(err);
    return { database, error: msgText(m), error_msg: m };
  }
}

/** The parts from every database's relations and the instance-wide WAL figures (see the file comment). */
export async function instanceParts(admin: PgQuery, dbs: readonly DatabaseRelations[], reason: (err: unknown) => Msg): Promise<CompositionPart[]> {
  const measured = dbs.filter((d) => d.relations);
  const failed = dbs.filter((d) => d.error).map((d) => ({ database: d.database, reason: d.error }));
  const sum = (f: (d: DatabaseRelations) => number) => measured.reduce((a, d) => a + f(d), 0);
  const perDb = (f: (d: DatabaseRelations) => number) => Object.fromEntries(measured.map((d) => [d.database, f(d)]));
  const heapAll = (d: DatabaseRelations) => Number(d.relations!.heap);
  // The reclaimable part is carved out of the heap (never more than the heap).
  const dead = (d: DatabaseRelations) => Math.min(d.reclaimable!.bytes, heapAll(d));
  const other = (d: DatabaseRelations) => Math.max(0, Number(d.relations!.total) - heapAll(d) - Number(d.relations!.indexes) - Number(d.relations!.toast));
  const methods = [...new Set(measured.map((d) => d.reclaimable!.method))];
  const noneMeasured =
    measured.length === 0
      ? why(
          msg('composition.reason.pg_none_measured', {
            // "name: cause; name: cause", each cause by key (the same words as before in zh-CN).
            list: dbs
              .filter((d) => d.error)
              .map((d) => msg('api.tables.warn.db_error', { name: d.database, cause: d.error_msg ?? d.error ?? '' }))
              .reduceRight<Msg | string>((rest, first) => (rest === '' ? first : msg('api.sync.warning_list', { first, rest })), ''),
          }),
        )
      : undefined;
  const part = (kind: string, f: (d: DatabaseRelations) => number, extra: Record<string, unknown> = {}): CompositionPart =>
    noneMeasured
      ? { kind, bytes: null, detail: null, ...noneMeasured }
      : { kind, bytes: sum(f), detail: { databases: perDb(f), ...(failed.length ? { not_measured: failed } : {}), ...extra } };
  const parts: CompositionPart[] = [
    part('heap', (d) => heapAll(d) - dead(d)),
    part('reclaimable', dead, { method: methods.length === 1 ? methods[0] : methods }),
    part('indexes', (d) => Number(d.relations!.indexes)),
    part('toast', (d) => Number(d.relations!.toast)),
    part('other', other),
  ];

  let slots: CompositionPart;
  let retained = 0;
  try {
    const rows = (await admin.query<SlotRow>(SLOTS_QUERY)).rows;
    const list = rows.map((r) => {
      const b = r.bytes === null ? 0 : Math.max(0, Number(r.bytes));
      return { name: r.slot_name, type: r.slot_type, active: r.active, wal_status: r.wal_status, bytes: b, inactive_holding_wal: !r.active && b > 0 };
    });
    retained = list.reduce((a, s) => a + s.bytes, 0);
    slots = {
      kind: 'wal_retained_by_slots',
      bytes: retained,
      detail: { slots: list, inactive_holding_wal: list.filter((s) => s.inactive_holding_wal).map((s) => s.name) },
    };
  } catch (err) {
    slots = { kind: 'wal_retained_by_slots', bytes: null, detail: null, ...why(reason(err)) };
  }
  let wal: CompositionPart;
  try {
    const r = (await admin.query<{ bytes: string; files: number }>(WALDIR_QUERY)).rows[0]!;
    const dir = Number(r.bytes);
    // What the slots hold lies inside pg_wal: count it once, in its own part.
    if (slots.bytes !== null && slots.bytes > dir) slots = { ...slots, bytes: dir, detail: { ...slots.detail, capped_at_wal_dir: true } };
    wal = { kind: 'wal', bytes: dir - (slots.bytes ?? 0), detail: { wal_dir_bytes: dir, files: r.files } };
  } catch (err) {
    wal = { kind: 'wal', bytes: null, detail: null, ...why(msg('composition.reason.pg_waldir', { cause: reason(err) })) };
  }
  return [...parts, wal, slots];
}
