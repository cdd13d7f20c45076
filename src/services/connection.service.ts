/**
 * Connections to the instances we measure: the stored credential turned into
 * a connect target (revealed once per run), a collection bounded by the sync
 * timeout and an abort signal with the exclusion rules applied, and one probe
 * for "test connection" and `doctor`. Used by the capacity sync, the table
 * sync, the composition and the fleet checks; knows nothing of sessions,
 * records or locks.
 *
 * Every connection to a monitored server is opened here (`connect`, after
 * `reserve`), under the connection caps: at most `connections_per_instance`
 * at once to one instance (an unsaved form's test: to one host:port) and
 * `connections_total` for the whole estate, counted across the processes
 * sharing the store (connection-slots.ts). A caller that cannot get a slot
 * within the wait gets 429 (a sync: a transient timeout, retried).
 */
import { checkNames, MAX_NAME_CHARS, sizesPastSafe, type Collection } from '../domain/collection.js';
import { msg } from '../client/shared/i18n/index.js';
import type { ConnectTarget, Engine, EngineSession, InstanceOptions, PrivilegeCheck } from '../engines/engine.js';
import type { DbType } from '../domain/db-type.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, scrubMsg, SyncError } from '../lib/errors.js';
import { stripControl, stripControlDeep } from '../lib/control-chars.js';
import { excludedBy } from '../lib/glob.js';
import { withTimeout } from '../lib/timeout.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow } from '../store/schema.js';
import { SlotAborted, SlotBusy, type ConnectionSlots, type Slot, type SlotPurpose, type SlotRequest } from './connection-slots.js';
import type { CredentialsService } from './credentials.service.js';
import type { EffectiveSettings } from './settings.service.js';
import { MSG } from './sync/messages.js';

/** Credentials revealed during one run, by id: a batch of instances sharing one credential reads and decrypts it once. */
export type CredentialCache = Map<number, Promise<{ username: string; password: string } | undefined>>;

/** The bounds of a connection, fixed when a run starts. */
export interface ConnectParams {
  connectTimeoutMs: number;
  syncTimeoutMs: number;
  /** Per-engine exclusion patterns from the settings. */
  exclusions: Partial<Record<DbType, string[]>>;
  /** Lives as long as the run; absent: reveal every time. */
  credentials?: CredentialCache;
}

/** Why a session's records are told to stop. */
export type StopReason = 'cancelled' | 'shutdown';

/** Raised inside a record's run when its session is cancelled or the process stops. */
export class Aborted extends Error {
  constructor(readonly reason: StopReason) {
    super(reason);
  }
}

export function abortReason(signal: AbortSignal | undefined): StopReason | undefined {
  return signal?.aborted ? (signal.reason === 'shutdown' ? 'shutdown' : 'cancelled') : undefined;
}

/** Reject as soon as `signal` aborts (the work itself is abandoned, not awaited). */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  const reason = abortReason(signal);
  if (reason) return Promise.reject(new Aborted(reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Aborted(abortReason(signal) ?? 'cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The instance row, or not_found (404) with the seed's message. */
export async function instanceOrThrow(instances: Pick<InstancesRepository, 'get'>, id: number): Promise<InstanceRow> {
  const inst = await instances.get(id);
  if (!inst) throw new AppError('not_found', MSG.notFound(id));
  return inst;
}

/** What a probe found: always the version and the latency; with `grants`, the doctor's checks. */
export interface ProbeResult {
  instance_id: number;
  instance_name: string;
  db_type: string;
  server_version: string;
  /** Connect + version query, in milliseconds. */
  latency_ms: number;
}

/** A probe with `grants` (`doctor`): whether every grant the collector relies on is present, and each check. */
export interface GrantsProbeResult extends ProbeResult {
  ok: boolean;
  checks: PrivilegeCheck[];
}

export interface ConnectionDeps {
  settings: () => Promise<EffectiveSettings>;
  engineFor: (dbType: DbType) => Engine;
  instances: Pick<InstancesRepository, 'get'>;
  credentials: Pick<CredentialsService, 'reveal' | 'decryptText'>;
  /** The semaphores shared through the store. */
  slots: ConnectionSlots;
  /** How long an interactive caller (test, doctor, tables, composition) waits for a slot before 429 (WHALEFALL_CONNECTION_WAIT_MS). */
  waitMs: number;
}

/** The instance a connection goes to, as the caps count it: by id, or by address before it is saved (id 0). */
export type CappedInstance = Pick<InstanceRow, 'id' | 'name' | 'db_type' | 'host' | 'port'>;

/**
 * How long an idle connection being closed keeps its slots at most (a
 * collection's, once it has its answer): its goodbye, and the end of its
 * socket, leave at once; the server's answer takes one more round trip over
 * the network, and waiting for it held the slots that long: at +50 ms each
 * way the goodbyes of 48 collections at once held ~16 more slots, so the
 * default `connections_total` of 64 was full and the estate ran below its
 * `sync_concurrency` (docs/benchmarks-notes.md, session 13). A connection
 * closed while a query runs (a timeout, a cancel) keeps them until its close
 * has ended: its goodbye waits behind the query (mysql2), and the server is
 * still at work for it.
 */
const GOODBYE_MS = 20;

/** The close of a connection known idle: its slots go after GOODBYE_MS at most (`connect`). */
const idleClose = new WeakMap<EngineSession, () => Promise<void>>();

export class ConnectionService {
  constructor(private readonly deps: ConnectionDeps) {}

  /** The caps now (the settings as the context reads them: a copy at most a second old, so a change applies without a restart). */
  private async limits(): Promise<{ perInstance: number; total: number }> {
    const s = await this.deps.settings();
    return { perInstance: s.connections_per_instance, total: s.connections_total };
  }

  /**
   * Wait for a connection slot to `inst` (its per-instance cap, then the
   * estate's), up to `waitMs` (default WHALEFALL_CONNECTION_WAIT_MS). Throws
   * AppError('rate_limited') when none came free (429), Aborted when
   * `signal` fired, SlotStoreError when the store could not be reached.
   * Pass the slot to `connect`, which frees it when the session closes.
   */
  async reserve(inst: CappedInstance, o: { purpose: SlotPurpose; waitMs?: number; signal?: AbortSignal }): Promise<Slot> {
    const caps = await this.limits();
    const kinds = this.deps.engineFor(inst.db_type as DbType).sessionConnections;
    const count = o.purpose === 'tables' || o.purpose === 'composition' ? (kinds?.[o.purpose] ?? 1) : 1;
    const requests: SlotRequest[] = [
      { scope: inst.id > 0 ? `instance:${inst.id}` : `endpoint:${inst.host.toLowerCase()}:${inst.port}`, cap: caps.perInstance, count },
      { scope: 'global', cap: caps.total, count },
    ];
    try {
      return await this.deps.slots.acquire(requests, { purpose: o.purpose, waitMs: o.waitMs ?? this.deps.waitMs, signal: o.signal });
    } catch (err) {
      if (err instanceof SlotAborted) throw new Aborted(abortReason(o.signal) ?? 'cancelled');
      if (err instanceof SlotBusy) {
        const msg =
          err.request.scope === 'global' ? MSG.capGlobal(err.request.cap) : MSG.capInstance(inst.name || `${inst.host}:${inst.port}`, err.request.cap);
        throw new AppError('rate_limited', msg, 'connection_cap', { retry_after_seconds: 1 });
      }
      throw err;
    }
  }

  /**
   * Connect to `inst` with a slot from `reserve`: the one place a monitored
   * server is connected to. The session's `close()` frees the slot when the
   * close has ended (a failed connect frees it at once); closing twice closes
   * once. A collection that has its answer closes through `idleClose`
   * instead: the slot goes GOODBYE_MS after at most.
   */
  async connect(inst: Pick<InstanceRow, 'db_type'>, target: ConnectTarget, slot: Slot): Promise<EngineSession> {
    let session: EngineSession;
    try {
      session = await this.deps.engineFor(inst.db_type as DbType).connect(target);
    } catch (err) {
      await slot.release();
      throw err;
    }
    const close = session.close.bind(session);
    let closed: Promise<void> | undefined;
    const closing = (idle: boolean) => {
      if (closed) return closed;
      if (!idle) {
        closed = close().finally(() => slot.release()); // a caller awaiting the close has the slot back too
        this.freeingUntil(closed);
        return closed;
      }
      const ending = close();
      closed = ending;
      // GOODBYE_MS at most from when the goodbye has left: at once, or once the collector thread has said it.
      const left = (ending.sent ?? Promise.resolve()).catch(() => {});
      this.freeingUntil(Promise.race([ending.catch(() => {}), left.then(() => sleep(GOODBYE_MS, undefined, { ref: false }))]).then(() => slot.release()));
      return closed;
    };
    session.close = () => closing(false);
    idleClose.set(session, () => closing(true));
    return session;
  }

  /** Slots of closing connections, not freed yet (a close not awaited, or `connect`'s idle close a moment later). */
  private readonly freeing = new Set<Promise<void>>();

  private freeingUntil(freed: Promise<void>): void {
    const p = freed.catch(() => {}).finally(() => this.freeing.delete(p));
    this.freeing.add(p);
  }

  /**
   * Wait until every connection closed so far has freed its slots: before the store closes (a CLI command ends
   * right after its last answer: `sync --tables` left its second connection's slots held by the gone process).
   * At most `maxMs`: a close that never ends leaves its slots to their lease, not the process hanging.
   */
  async settle(maxMs = 2_000): Promise<void> {
    const deadline = sleep(maxMs, 'late' as const, { ref: false });
    while (this.freeing.size) if ((await Promise.race([Promise.all([...this.freeing]), deadline])) === 'late') return;
  }

  /** The bounds of a run from the current settings (a fresh credential cache per run). */
  async params(): Promise<Required<ConnectParams>> {
    const s = await this.deps.settings();
    return { connectTimeoutMs: s.connect_timeout_ms, syncTimeoutMs: s.sync_timeout_ms, exclusions: s.exclusions, credentials: new Map() };
  }

  /** The credential, revealed once per run (a failed read is not kept: the next instance tries again). */
  private credential(id: number, cache: CredentialCache | undefined): Promise<{ username: string; password: string } | undefined> {
    let cred = cache?.get(id);
    if (!cred) {
      cred = this.deps.credentials.reveal(id);
      if (cache) {
        cache.set(id, cred);
        cred.catch(() => cache.delete(id));
      }
    }
    return cred;
  }

  /** Turn an instance row into a connect target; fails clearly if the credential is unusable. */
  async target(inst: InstanceRow, p: Pick<ConnectParams, 'connectTimeoutMs' | 'syncTimeoutMs' | 'credentials'>): Promise<ConnectTarget> {
    if (inst.credential_id === null) throw new AppError('validation', MSG.noCredential);
    const cred = await this.credential(inst.credential_id, p.credentials);
    if (!cred) throw new AppError('validation', MSG.noCredential);
    return this.withTls(inst, connectTarget(inst, cred, p));
  }

  /** The instance's TLS material (CA, client cert/key), decrypted for this connection only. */
  private withTls(inst: Partial<Pick<InstanceRow, 'tls_enc'>>, target: ConnectTarget): ConnectTarget {
    return inst.tls_enc ? { ...target, tls: JSON.parse(this.deps.credentials.decryptText(inst.tls_enc)) as ConnectTarget['tls'] } : target;
  }

  /** The exclusion patterns of an instance: the engine's from the settings, then the instance's own. */
  exclusionsFor(inst: InstanceRow, target: ConnectTarget, p: Pick<ConnectParams, 'exclusions'>): string[] {
    return [...(p.exclusions[inst.db_type as DbType] ?? []), ...(target.options.exclude ?? [])];
  }

  /**
   * A sync's connection slot asked for now, before its collection: a sync record asks with its instance's
   * lock, so the two store round trips run at once (record-runner.ts). `collect` takes it; `drop` it when no
   * collection will (the lock was busy, the record stopped or failed first).
   */
  reserveAhead(inst: InstanceRow, p: Pick<ConnectParams, 'connectTimeoutMs' | 'syncTimeoutMs'>, signal?: AbortSignal): SlotAhead {
    const dropped = new AbortController();
    const until = signal ? AbortSignal.any([signal, dropped.signal]) : dropped.signal;
    // Anything that fails here (the instance's options unreadable) fails its collection, as it would have there.
    const slot = (async () => this.reserve(inst, { purpose: 'sync', waitMs: collectWaitMs(inst, p), signal: until }))();
    return new SlotAhead(slot, dropped);
  }

  /**
   * Connect, collect, close — bounded as a whole by the sync timeout. Only
   * classified SyncErrors (or Aborted) come out; the connection is always closed.
   * `ahead`: the slot asked for earlier (`reserveAhead`), used once; otherwise one is asked for here.
   */
  async collect(
    inst: InstanceRow,
    target: ConnectTarget,
    p: Pick<ConnectParams, 'syncTimeoutMs' | 'exclusions'>,
    signal?: AbortSignal,
    ahead?: SlotAhead,
  ): Promise<Collection> {
    const engine = this.deps.engineFor(inst.db_type as DbType);
    // Waiting for a slot is not part of the collection's time: it may take as long as one collection of another holder.
    const reserved = ahead?.take() ?? this.reserve(inst, { purpose: 'sync', waitMs: target.connectTimeoutMs + p.syncTimeoutMs, signal });
    const slot = await reserved.catch((err: unknown) => {
      throw err instanceof AppError && err.kind === 'rate_limited' ? new SyncError('timeout', err.message) : err;
    });
    let session: EngineSession | undefined;
    const work = (async () => {
      session = await this.connect(inst, target, slot);
      try {
        return await session.collect();
      } finally {
        // Saying goodbye costs a round trip and the result does not depend on it: close in the
        // background (each engine bounds its close and destroys the socket if the server is silent).
        // Idle now (the query answered, or failed with the server's answer); a close already begun
        // (a timeout or a cancel while the query ran) keeps the slot to its end.
        void (idleClose.get(session)?.() ?? session.close()).catch(() => {});
      }
    })();
    try {
      const closeNow = () => void session?.close().catch(() => {});
      signal?.addEventListener('abort', closeNow, { once: true });
      const c = await withTimeout(raceAbort(work, signal), target.connectTimeoutMs + p.syncTimeoutMs, '容量采集', closeNow).finally(() =>
        signal?.removeEventListener('abort', closeNow),
      );
      // The server's words (version, warnings) are printed by the CLI and shown in the UI: no control characters.
      // Database names stay exact (they identify the database; the CLI and the logs strip them when printing), but
      // for what no store can hold, and what cannot be saved at all is the instance's data error, not the store's.
      const names = checkNames(c.databases);
      const shown = (list: string[]) =>
        list
          .slice(0, 5)
          .map((n) => (n.length > 64 ? `${n.slice(0, 64)}…` : n))
          .join(', ');
      if (names.tooLong.length) throw new SyncError('data', msg('cause.name_too_long', { max: MAX_NAME_CHARS, names: shown(names.tooLong) }));
      if (names.duplicates.length) throw new SyncError('data', msg('cause.duplicate_names', { names: shown(names.duplicates) }));
      if (sizesPastSafe(c.databases)) throw new SyncError('data', msg('cause.sizes_past_safe', { count: c.databases.length }));
      const warnings = c.warnings.map((w) => (typeof w === 'string' ? stripControl(w, { multiline: true }) : scrubMsg(w, [])));
      if (names.replaced.length)
        warnings.push(scrubMsg(msg('api.sync.warn.names_replaced', { count: names.replaced.length, names: shown(names.replaced) }), []));
      const clean = { ...c, databases: names.databases, server_version: c.server_version === null ? null : stripControl(c.server_version), warnings };
      return applyExclusions(clean, this.exclusionsFor(inst, target, p));
    } catch (err) {
      work.catch(() => {}); // the abandoned attempt may still reject later
      if (err instanceof Aborted) throw err;
      throw (err instanceof SyncError ? err : engine.classifyError(err, target)).scrubbed([target.password]);
    }
  }

  /**
   * Connect with the instance's credential and report the server version and
   * latency (test connection); with `grants` also which grants the collector
   * relies on are present, what is under-counted without each, and the
   * statements that fix it (`doctor`). Nothing is saved. Failures are
   * AppError('sync_failed') with the seed's "无法连接到实例" message.
   */
  probe(instanceId: number, opts: { grants: true }): Promise<GrantsProbeResult>;
  probe(instanceId: number, opts?: { grants?: boolean }): Promise<ProbeResult | GrantsProbeResult>;
  async probe(instanceId: number, opts: { grants?: boolean } = {}): Promise<ProbeResult | GrantsProbeResult> {
    const inst = await instanceOrThrow(this.deps.instances, instanceId);
    const target = await this.target(inst, await this.params());
    return this.probeTarget(inst, target, opts);
  }

  /**
   * 测试连接 with settings not saved yet (the add/edit form, issue #20): the
   * version and the grant check in one session. The credential is a stored
   * one (`def.credential_id`) or `inline`, a user name and password typed in
   * the form: used for this connection only, never stored, logged or
   * returned. Nothing is written.
   */
  async probeUnsaved(
    def: Pick<InstanceRow, 'name' | 'db_type' | 'host' | 'port' | 'database_name' | 'credential_id' | 'options'>,
    inline: { username: string; password: string } | null,
  ): Promise<GrantsProbeResult> {
    const p = await this.params();
    const inst = { ...def, id: 0 } as InstanceRow;
    const target = inline ? this.withTls(inst, connectTarget(inst, inline, p)) : await this.target(inst, p);
    return this.probeTarget(inst, target, { grants: true }) as Promise<GrantsProbeResult>;
  }

  private async probeTarget(inst: InstanceRow, target: ConnectTarget, opts: { grants?: boolean }): Promise<ProbeResult | GrantsProbeResult> {
    const engine = this.deps.engineFor(inst.db_type as DbType);
    const slot = await this.reserve(inst, { purpose: opts.grants ? 'doctor' : 'test' });
    const started = performance.now();
    let session: EngineSession | undefined;
    try {
      session = await this.connect(inst, target, slot);
      const server_version = stripControl(await withTimeout(session.serverVersion(), target.connectTimeoutMs, '查询版本'));
      const r: ProbeResult = {
        instance_id: inst.id,
        instance_name: inst.name,
        db_type: inst.db_type,
        server_version,
        latency_ms: Math.round(performance.now() - started),
      };
      if (!opts.grants) return r;
      const checks = stripControlDeep(await withTimeout(session.doctor(), target.queryTimeoutMs + target.connectTimeoutMs, '权限检查'));
      return { ...r, ok: checks.every((c) => c.ok), checks };
    } catch (err) {
      const e = (err instanceof SyncError ? err : engine.classifyError(err, target)).scrubbed([target.password]);
      throw new AppError('sync_failed', MSG.unreachable(inst.name, inst.db_type, e.msg ?? e.message), e.code);
    } finally {
      await session?.close().catch(() => {});
    }
  }
}

/** A connection slot asked for ahead of its collection (`reserveAhead`): taken once, or dropped (freed once it came). */
export class SlotAhead {
  private used = false;

  constructor(
    private readonly slot: Promise<Slot>,
    private readonly dropped: AbortController,
  ) {
    slot.catch(() => {}); // its error is the collection's, if one takes it; nobody's otherwise
  }

  /** The slot for the first collection that asks; undefined after (a retry asks anew). */
  take(): Promise<Slot> | undefined {
    if (this.used) return undefined;
    this.used = true;
    return this.slot;
  }

  /** No collection took it: a wait for it ends (it holds no place in the slot's line), a slot it got is freed. */
  drop(): void {
    if (this.used) return;
    this.used = true;
    this.dropped.abort();
    void this.slot.then(
      (s) => s.release(),
      () => {},
    );
  }
}

/** How long a sync waits for its connection slot: the instance's connect timeout and the sync timeout, as `collect` bounds its run. */
function collectWaitMs(inst: Pick<InstanceRow, 'options'>, p: Pick<ConnectParams, 'connectTimeoutMs' | 'syncTimeoutMs'>): number {
  return connectTimeoutMs(JSON.parse(inst.options) as InstanceOptions, p) + p.syncTimeoutMs;
}

/** An instance's connect timeout: its own option, else the run's. */
function connectTimeoutMs(options: InstanceOptions, p: Pick<ConnectParams, 'connectTimeoutMs'>): number {
  return options.connect_timeout_ms ?? p.connectTimeoutMs;
}

/** A connect target from an instance's columns and a credential (stored, or typed in the form). */
function connectTarget(
  inst: Pick<InstanceRow, 'host' | 'port' | 'database_name' | 'options'>,
  cred: { username: string; password: string },
  p: Pick<ConnectParams, 'connectTimeoutMs' | 'syncTimeoutMs'>,
): ConnectTarget {
  const options = JSON.parse(inst.options) as InstanceOptions;
  return {
    host: inst.host,
    port: inst.port,
    database: inst.database_name,
    username: cred.username,
    password: cred.password,
    options,
    connectTimeoutMs: connectTimeoutMs(options, p),
    queryTimeoutMs: options.query_timeout_ms ?? p.syncTimeoutMs,
  };
}

/** Exclusion rules apply before saving: an excluded database is neither stored nor marked deleted. */
export function applyExclusions(c: Collection, patterns: string[]): Collection {
  if (!patterns.length) return c;
  const kept = c.databases.filter((d) => !excludedBy(d.database_name, patterns));
  const excluded = c.databases.filter((d) => excludedBy(d.database_name, patterns)).map((d) => d.database_name);
  return excluded.length ? { ...c, databases: kept, excluded, warnings: [...c.warnings, MSG.excluded(excluded.length)] } : c;
}
