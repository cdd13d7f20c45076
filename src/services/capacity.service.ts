/** Read side of capacity: databases of an instance, daily history, sync sessions and records. */
import { addDays, isIsoDate, localDate, type Clock } from '../lib/clock.js';
import { yieldToIo } from '../lib/concurrency.js';
import { AppError } from '../lib/errors.js';
import { holderProcess } from '../lib/process-tag.js';
import { bytesToMb } from '../lib/sizes.js';
import type { DbType } from '../domain/db-type.js';
import { getEngine } from '../engines/registry.js';
import type { CapacityRepository } from '../store/capacity.repository.js';
import type { InstancesRepository, OverviewQuery } from '../store/instances.repository.js';
import { toPublicInstance } from './instances.service.js';
import { DEFAULT_LOCALE, msg, msgText, parseStoredMsg, type Locale, type MessageKey, type Params } from '../client/shared/i18n/index.js';
import { DATABASE_REMARK_KEYS } from '../client/shared/i18n/messages/warnings.js';

/** A stored database remark's key, when its text is one of the constant remarks (DATABASE_REMARK_KEYS). */
const REMARK_KEY = new Map<string, string>(DATABASE_REMARK_KEYS.map((k) => [msgText(msg(k)), k]));
export const remarkKey = (text: string | null | undefined): string | null => (text ? (REMARK_KEY.get(text) ?? null) : null);

/**
 * A database row's remark (`error` or `note`) as the API gives it: `<name>_key` + `<name>_params` from its stored
 * message (0027), else from its text when it is a constant remark; the text in the request's language when keyed.
 */
export function remark<N extends 'error' | 'note'>(name: N, text: string | null | undefined, stored: string | null | undefined, locale: Locale) {
  const m = parseStoredMsg(stored) ?? (remarkKey(text) ? msg(remarkKey(text) as MessageKey) : null);
  return {
    [name]: text ? (m ? msgText(m, locale) : text) : null,
    [`${name}_key`]: text && m ? m.key : null,
    [`${name}_params`]: text && m?.params ? m.params : null,
  } as Record<N | `${N}_key`, string | null> & Record<`${N}_params`, Params | null>;
}
import type { SyncInstanceRecordRow, SyncSessionRow } from '../store/schema.js';
import type { SyncRepository } from '../store/sync.repository.js';
import { fail } from './validate.js';

const MAX_RANGE_DAYS = 3660;
const DAY_MS = 86_400_000;

/**
 * A running session's records, as polled (GET /api/sync-sessions/:id, every
 * 200 ms by scripts), are a snapshot at most this stale: at least
 * SNAPSHOT_MIN_MS, and SNAPSHOT_COST_FACTOR times what the last snapshot
 * took to build. Building one reads and serialises every record (10,000
 * records: ~1 MB of rows, 6 MB of JSON, tens of ms on the event loop the
 * session's own connections need): rebuilt on every poll, that cost grew
 * with the estate twice over (records × polls, the polls themselves growing
 * with the run), and the batch slowed down by being watched. Bounded like
 * this, polls cost at most 1/SNAPSHOT_COST_FACTOR of the loop. A session no
 * longer running is always read fresh, so its end is seen at once.
 */
const SNAPSHOT_MIN_MS = 250;
const SNAPSHOT_COST_FACTOR = 20;
/** Snapshots not asked for this long are dropped (a poller that went away). */
const SNAPSHOT_KEEP_MS = 60_000;
/**
 * Records read and serialised per page (between two yields to the event loop) while building a snapshot. A
 * rebuild reads again every page from the first one not all final: at concurrency 128 the records still moving
 * span a few hundred ids, so pages of 1,000 re-read 1,000–2,000 rows a rebuild, and held the loop the session's
 * own connections wait on for one page's read and JSON at a time (docs/benchmarks-notes.md, session 19).
 */
const SNAPSHOT_CHUNK = 250;
const OPEN_ARRAY = Buffer.from('[');
const CLOSE_ARRAY = Buffer.from(']');
const CLOSE = Buffer.from('}');
const COMMA = Buffer.from(',');

function durationMs(s: { started_at: string | null; completed_at: string | null }): number | null {
  return s.started_at && s.completed_at ? new Date(s.completed_at).getTime() - new Date(s.started_at).getTime() : null;
}

/** A record as the API shows it: `holder` is the process that ran it last ({host, pid}; null before it started). */
export function toPublicRecord(r: SyncInstanceRecordRow) {
  const { holder, error_msg, ...rest } = r;
  const m = parseStoredMsg(error_msg);
  return {
    ...rest,
    holder: holderProcess(holder),
    // The error by key (migration 0022): the UI shows it in its language; older rows have only the text.
    error_message_key: m?.key ?? null,
    error_params: m?.params ?? null,
    total_size_mb: bytesToMb(r.total_size_bytes),
    details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
  };
}

export function toPublicSession(s: SyncSessionRow) {
  const { owner: _owner, heartbeat_at, ...rest } = s;
  return { ...rest, heartbeat_at, duration_ms: durationMs(s) };
}

/** Records of a session by outcome (what its table shows). */
export interface RecordCounts {
  ok: number;
  failed: number;
  running: number;
}

export function countRecords(records: readonly { status: string }[]): RecordCounts {
  const c = { ok: 0, failed: 0, running: 0 };
  for (const r of records) {
    if (r.status === 'completed') c.ok++;
    else if (r.status === 'failed') c.failed++;
    else if (r.status === 'running') c.running++;
  }
  return c;
}

/**
 * A session as the API shows it. While it runs, the session row's counters
 * are written only when it ends, so they come from its records — the same
 * rows the session's table shows, counted in the same read — and move as
 * each record finishes (issue #20); with the elapsed time and a linear
 * estimate of the rest (null until one record has ended).
 */
export function livePublicSession(s: SyncSessionRow, counts: RecordCounts | null, nowMs: number) {
  const pub = toPublicSession(s);
  if (s.status !== 'running' || !counts)
    return { ...pub, running_instances: 0, elapsed_ms: pub.duration_ms, remaining_ms_estimate: s.status === 'running' ? null : 0 };
  const elapsed = Math.max(0, nowMs - new Date(s.started_at).getTime());
  const done = counts.ok + counts.failed;
  return {
    ...pub,
    successful_instances: counts.ok,
    failed_instances: counts.failed,
    running_instances: counts.running,
    elapsed_ms: elapsed,
    remaining_ms_estimate: done > 0 ? Math.round((elapsed / done) * Math.max(0, s.total_instances - done)) : null,
  };
}

export class CapacityService {
  /** Running sessions' records as pages of UTF-8 JSON text, by session id (see SNAPSHOT_MIN_MS). */
  private snapshots = new Map<string, { at: number; buildMs: number; pages: Page[] }>();

  constructor(
    private readonly capacity: CapacityRepository,
    private readonly instances: InstancesRepository,
    private readonly sync: SyncRepository,
    private readonly clock: Clock,
    private readonly timeZone: string,
    /** Tests set how stale a snapshot may be and the monotonic time it is measured with (ms). */
    private readonly snapshot: { minMs?: number; costFactor?: number; now?: () => number; chunk?: number } = {},
  ) {}

  private async instance(id: number) {
    const inst = await this.instances.get(id);
    if (!inst) throw new AppError('not_found', msg('api.instance_not_found', { id: id }));
    return inst;
  }

  /**
   * The instance's change since the previous sync and over the last 7 and 30
   * days, from the per-sync series: null (shown "no baseline yet") where no
   * earlier sync exists, so a first sync never reads as "0 B". A window's
   * change is counted from its first sync; when that sync is more than a day
   * after the window's start (an instance synced for 2 days, or paused), the
   * change covers less than the window and `change_7d_since` / `change_30d_since`
   * give the time it is counted from (null otherwise).
   */
  async changes(instanceId: number) {
    await this.instance(instanceId);
    const now = this.clock.now().getTime();
    const ago = (days: number) => new Date(now - days * DAY_MS).toISOString();
    const r = await this.capacity.instanceChanges(instanceId, { d7: ago(7), d30: ago(30) });
    const total = r?.total_size_bytes ?? null;
    const minus = (base: unknown) => (total === null || base === null || base === undefined ? null : total - Number(base));
    const since = (days: number, at: unknown) => (typeof at === 'string' && Date.parse(at) > now - (days - 1) * DAY_MS ? at : null);
    return {
      total_size_bytes: total,
      previous_sync_at: r?.previous_at ?? null,
      change_last_sync_bytes: minus(r?.previous_bytes),
      change_7d_bytes: minus(r?.d7),
      change_7d_since: since(7, r?.d7_at),
      change_30d_bytes: minus(r?.d30),
      change_30d_since: since(30, r?.d30_at),
    };
  }

  /** Online and deleted databases with their latest known size and first/last seen dates. */
  async databases(instanceId: number, locale: Locale = DEFAULT_LOCALE) {
    const inst = await this.instance(instanceId);
    const notes = getEngine(inst.db_type as DbType).methodNotes ?? {};
    const rows = await this.capacity.listDatabases(instanceId);
    const list = rows.map((r) => ({
      database_name: r.database_name,
      is_system: r.is_system === 1,
      is_deleted: r.is_deleted === 1,
      deleted_at: r.deleted_at,
      first_seen_date: r.first_seen_date,
      last_seen_date: r.last_seen_date,
      size_bytes: r.size_bytes ?? null,
      size_mb: bytesToMb(r.size_bytes ?? null),
      data_bytes: r.data_bytes ?? null,
      index_bytes: r.index_bytes ?? null,
      log_bytes: r.log_bytes ?? null,
      free_bytes: r.free_bytes ?? null,
      used_bytes: r.used_bytes ?? null,
      max_bytes: r.max_bytes ?? null,
      /** Bytes of the database's own files (MySQL/MariaDB InnoDB tablespaces); null when the method read no file. */
      allocated_bytes: r.allocated_bytes ?? null,
      // Left out of the instance total (a snapshot's source and a secondary's primary are counted).
      is_snapshot: r.is_snapshot === 1,
      replica_role: r.replica_role ?? null,
      method: r.method ?? null,
      /** One line: what this method's number means and why file sizes and table statistics differ. */
      method_note: r.method && notes[r.method] ? msgText(notes[r.method]!, locale) : null,
      /** `method_note` by key: the UI renders it in its language. */
      method_note_key: (r.method && notes[r.method]?.key) || null,
      /** In the request's language when it has a key (stored, or a constant remark's); else as stored. */
      ...remark('error', r.error, r.error_msg, locale),
      ...remark('note', r.note, r.note_msg, locale),
      collected_at: r.collected_at ?? null,
      /** Change since the sync before the last one that measured it; null: no earlier measurement ("no baseline yet"). */
      change_last_sync_bytes:
        r.size_bytes === null || r.size_bytes === undefined || r.previous_sync_bytes === null ? null : r.size_bytes - Number(r.previous_sync_bytes),
    }));
    return {
      instance_id: instanceId,
      online_count: list.filter((d) => !d.is_deleted).length,
      deleted_count: list.filter((d) => d.is_deleted).length,
      databases: list,
    };
  }

  /** Daily instance totals; default range the last 30 days in the configured time zone. */
  async history(instanceId: number, q: { from?: string; to?: string; period?: string }) {
    await this.instance(instanceId);
    const period = q.period ?? 'daily';
    if (period !== 'daily') fail('period', msg('api.v.daily_only'));
    const to = q.to ?? localDate(this.clock.now(), this.timeZone);
    const from = q.from ?? addDays(to, -29);
    if (!isIsoDate(from)) fail('from', msg('api.v.bad_date', { value: from }));
    if (!isIsoDate(to)) fail('to', msg('api.v.bad_date', { value: to }));
    if (from > to) fail('from', msg('api.v.from_after_to'));
    if (addDays(from, MAX_RANGE_DAYS) < to) fail('from', msg('api.v.range_too_long', { days: MAX_RANGE_DAYS }));
    const rows = await this.capacity.instanceHistory(instanceId, from, to);
    return {
      instance_id: instanceId,
      period,
      from,
      to,
      points: rows.map((r) => ({ ...r, total_size_mb: bytesToMb(r.total_size_bytes) })),
    };
  }

  /**
   * The instances page: one page of instances (filters, sort, paging on the
   * server) with database count, total, 7-day change and last sync state,
   * the total matching, and every tag in use.
   */
  async instanceOverview(
    q: Omit<OverviewQuery, 'since' | 'sort' | 'dir' | 'limit' | 'offset'> & Partial<Pick<OverviewQuery, 'sort' | 'dir' | 'limit' | 'offset'>>,
  ) {
    const since = new Date(this.clock.now().getTime() - 7 * DAY_MS).toISOString();
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const search = q.search?.trim() || undefined;
    const [{ rows, total }, tags] = await Promise.all([
      this.instances.overview({ ...q, search, sort: q.sort ?? 'name', dir: q.dir ?? 'asc', limit, offset, since }),
      this.instances.allTags(),
    ]);
    const num = (v: number | null) => (v === null ? null : Number(v));
    // The page's three fields added to the public view in place (same key order): a spread would copy every row's
    // ~30 fields once more on each request of the instances page.
    const items = rows.map((r) =>
      Object.assign(toPublicInstance(r), {
        change_7d_bytes: num(r.change_7d_bytes),
        change_last_sync_bytes: num(r.change_last_sync_bytes),
        previous_sync_at: r.previous_sync_at,
      }),
    );
    return { items, total, limit, offset, change_since: since, tags };
  }

  async syncRecords(instanceId: number, limit: number) {
    await this.instance(instanceId);
    // sync_type (the session's) is already in the row: named here so the type says so (same key order).
    return (await this.sync.recordsOfInstance(instanceId, limit)).map((r) => ({ ...toPublicRecord(r), sync_type: r.sync_type }));
  }

  /** Sessions, newest first; `from`/`to` are dates (YYYY-MM-DD, UTC) on started_at. */
  async sessions(q: { limit?: number; offset?: number; sync_type?: string; status?: string; from?: string; to?: string }) {
    if (q.from !== undefined && !isIsoDate(q.from)) fail('from', msg('api.v.bad_date', { value: q.from }));
    if (q.to !== undefined && !isIsoDate(q.to)) fail('to', msg('api.v.bad_date', { value: q.to }));
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) fail('from', msg('api.v.from_after_to'));
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const r = await this.sync.listSessions({
      limit,
      offset,
      syncType: q.sync_type,
      status: q.status,
      from: q.from ? `${q.from}T00:00:00.000Z` : undefined,
      to: q.to ? `${addDays(q.to, 1)}T00:00:00.000Z` : undefined,
    });
    const counts = await this.sync.statusCounts(r.items.filter((s) => s.status === 'running').map((s) => s.session_id));
    const now = this.clock.now().getTime();
    return { items: r.items.map((s) => livePublicSession(s, counts.get(s.session_id) ?? null, now)), total: r.total, limit, offset };
  }

  private async sessionRow(sessionId: string): Promise<SyncSessionRow> {
    const s = await this.sync.getSession(sessionId);
    if (!s) throw new AppError('not_found', msg('api.session_not_found', { id: sessionId }));
    return s;
  }

  async session(sessionId: string) {
    const s = await this.sessionRow(sessionId);
    const records = await this.sync.records(sessionId);
    return { ...livePublicSession(s, countRecords(records), this.clock.now().getTime()), records: records.map(toPublicRecord) };
  }

  /**
   * A session without its records: the session row, with live counts while it runs (one grouped count of its
   * records, no record read or serialised). What a progress bar polls (GET /api/sync-sessions/:id/summary): a
   * 10,000-record session's full answer is ~9 MB, this one under 1 KB.
   */
  async sessionSummary(sessionId: string) {
    const s = await this.sessionRow(sessionId);
    const counts = s.status === 'running' ? ((await this.sync.statusCounts([sessionId])).get(sessionId) ?? null) : null;
    return livePublicSession(s, counts, this.clock.now().getTime());
  }

  /**
   * The same as `session`, as UTF-8 JSON text in pieces (to be written one
   * after another, never joined: a 10,000-record session is 9 MB, polled
   * every 200 ms), for the API's poll: the session row is read every time; a
   * running session's records come from a snapshot at most
   * max(SNAPSHOT_MIN_MS, SNAPSHOT_COST_FACTOR × its build time) old, kept
   * encoded (encoded once, not on every poll).
   */
  async sessionJson(sessionId: string): Promise<Buffer[]> {
    const s = await this.sessionRow(sessionId);
    const { json, counts } = await this.recordsJson(s);
    const head = JSON.stringify(livePublicSession(s, counts, this.clock.now().getTime()));
    return [Buffer.from(`${head.slice(0, -1)},"records":`), ...json, CLOSE];
  }

  private async recordsJson(s: SyncSessionRow): Promise<{ json: Buffer[]; counts: RecordCounts }> {
    const now = (this.snapshot.now ?? performance.now.bind(performance))();
    for (const [id, snap] of this.snapshots) if (now - snap.at > SNAPSHOT_KEEP_MS) this.snapshots.delete(id);
    if (s.status !== 'running') {
      this.snapshots.delete(s.session_id);
      return joinPages(await this.readPages(s.session_id, [], () => false));
    }
    const snap = this.snapshots.get(s.session_id);
    const { minMs = SNAPSHOT_MIN_MS, costFactor = SNAPSHOT_COST_FACTOR } = this.snapshot;
    if (snap && now - snap.at < Math.max(minMs, costFactor * snap.buildMs)) return joinPages(snap.pages);
    const t0 = performance.now();
    // A session run here (it has an owner) never reopens a failed record; in queue mode a shutdown hands one back.
    const final = (r: SyncInstanceRecordRow) => r.status === 'completed' || r.status === 'skipped' || (r.status === 'failed' && s.owner !== null);
    const pages = await this.readPages(s.session_id, snap?.pages ?? [], final);
    this.snapshots.set(s.session_id, { at: now, buildMs: performance.now() - t0, pages });
    return joinPages(pages);
  }

  /**
   * Every record of the session, read and serialised a page at a time (keyset on id) with the event loop let through
   * between pages: at no time are all the session's rows in memory at once. The leading pages of `kept` (the last
   * snapshot's) that were full and `final` (every record in a state it never leaves) are taken as they are, not read
   * again: a batch finishes its records roughly in id order, so a rebuild reads the pages still moving, not 10,000
   * rows. The counts are of the rows serialised, so they agree with the table shown.
   */
  private async readPages(sessionId: string, kept: readonly Page[], final: (r: SyncInstanceRecordRow) => boolean): Promise<Page[]> {
    const pages: Page[] = [];
    for (const p of kept) {
      if (!p.final) break;
      pages.push(p);
    }
    const { chunk = SNAPSHOT_CHUNK } = this.snapshot;
    for (let afterId = pages.at(-1)?.lastId ?? 0; ;) {
      const rows = await this.sync.records(sessionId, { afterId, limit: chunk });
      if (rows.length === 0) break;
      afterId = rows[rows.length - 1]!.id;
      const json = Buffer.from(JSON.stringify(rows.map(toPublicRecord)).slice(1, -1));
      pages.push({ lastId: afterId, json, counts: countRecords(rows), final: rows.length === chunk && rows.every(final) });
      if (rows.length < chunk) break;
      await yieldToIo();
    }
    return pages;
  }
}

/** One page of a session's records in a snapshot: its records' JSON (no brackets), their counts, the last id. */
interface Page {
  lastId: number;
  json: Buffer;
  counts: RecordCounts;
  /** Full, and every record in a state it never leaves: the next snapshot takes it as it is. */
  final: boolean;
}

/** The pages as one JSON array in pieces, and their counts summed. */
function joinPages(pages: readonly Page[]): { json: Buffer[]; counts: RecordCounts } {
  const json: Buffer[] = [OPEN_ARRAY];
  const counts = { ok: 0, failed: 0, running: 0 };
  pages.forEach((p, i) => {
    if (i > 0) json.push(COMMA);
    json.push(p.json);
    counts.ok += p.counts.ok;
    counts.failed += p.counts.failed;
    counts.running += p.counts.running;
  });
  json.push(CLOSE_ARRAY);
  return { json, counts };
}
