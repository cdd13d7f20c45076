/**
 * Connections to the instances we measure: the stored credential turned into
 * a connect target (revealed once per run), a collection bounded by the sync
 * timeout and an abort signal with the exclusion rules applied, and one probe
 * for "test connection" and `doctor`. Used by the capacity sync, the table
 * sync and the fleet checks; knows nothing of sessions, records or locks.
 */
import type { Collection, ConnectTarget, DbType, Engine, InstanceOptions, PrivilegeCheck } from '../engines/engine.js';
import { AppError, SyncError, serverText } from '../lib/errors.js';
import { stripControl, stripControlDeep } from '../lib/control-chars.js';
import { excludedBy } from '../lib/glob.js';
import { withTimeout } from '../lib/timeout.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { InstanceRow } from '../store/schema.js';
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
}

export class ConnectionService {
  constructor(private readonly deps: ConnectionDeps) {}

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
   * Connect, collect, close — bounded as a whole by the sync timeout. Only
   * classified SyncErrors (or Aborted) come out; the connection is always closed.
   */
  async collect(inst: InstanceRow, target: ConnectTarget, p: Pick<ConnectParams, 'syncTimeoutMs' | 'exclusions'>, signal?: AbortSignal): Promise<Collection> {
    const engine = this.deps.engineFor(inst.db_type as DbType);
    let session: Awaited<ReturnType<Engine['connect']>> | undefined;
    const work = (async () => {
      session = await engine.connect(target);
      try {
        return await session.collect();
      } finally {
        // Saying goodbye costs a round trip and the result does not depend on it: close in the
        // background (each engine bounds its close and destroys the socket if the server is silent).
        void session.close().catch(() => {});
      }
    })();
    try {
      const closeNow = () => void session?.close().catch(() => {});
      signal?.addEventListener('abort', closeNow, { once: true });
      const c = await withTimeout(raceAbort(work, signal), target.connectTimeoutMs + p.syncTimeoutMs, '容量采集', closeNow).finally(() =>
        signal?.removeEventListener('abort', closeNow),
      );
      // The server's words (version, warnings) are printed by the CLI and shown in the UI: no control characters.
      // Database names stay exact (they identify the database); the CLI and the logs strip them when printing.
      const clean = { ...c, server_version: c.server_version === null ? null : stripControl(c.server_version), warnings: c.warnings.map((w) => stripControl(w, { multiline: true })) };
      return applyExclusions(clean, this.exclusionsFor(inst, target, p));
    } catch (err) {
      work.catch(() => {}); // the abandoned attempt may still reject later
      if (err instanceof Aborted) throw err;
      const e = err instanceof SyncError ? err : engine.classifyError(err, target);
      throw new SyncError(e.code, serverText(e.message, [target.password]), { cause: e.cause });
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
    const started = performance.now();
    let session: Awaited<ReturnType<Engine['connect']>> | undefined;
    try {
      session = await engine.connect(target);
      const server_version = stripControl(await withTimeout(session.serverVersion(), target.connectTimeoutMs, '查询版本'));
      const r: ProbeResult = { instance_id: inst.id, instance_name: inst.name, db_type: inst.db_type, server_version, latency_ms: Math.round(performance.now() - started) };
      if (!opts.grants) return r;
      const checks = stripControlDeep(await withTimeout(session.doctor(), target.queryTimeoutMs + target.connectTimeoutMs, '权限检查'));
      return { ...r, ok: checks.every((c) => c.ok), checks };
    } catch (err) {
      const e = err instanceof SyncError ? err : engine.classifyError(err, target);
      throw new AppError('sync_failed', MSG.unreachable(inst.name, inst.db_type, serverText(e.message, [target.password])), e.code);
    } finally {
      await session?.close().catch(() => {});
    }
  }
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
    connectTimeoutMs: options.connect_timeout_ms ?? p.connectTimeoutMs,
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
