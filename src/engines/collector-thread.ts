/**
 * The engines' sessions in a thread of their own: the drivers' work — connecting, TLS, the protocol's parsing, the
 * rows — runs off the thread that runs the service, its store and its HTTP.
 *
 * Why: at 128 syncs at once the one JavaScript thread was busy about 60 % of a batch, and its work came in bursts
 * (a group commit's members all carrying on at once): a monitored server's answer that arrived during a burst waited
 * for it, up to 150 ms, although the ideal counts only the network's delay. The drivers' share of that thread was
 * about 0.4 ms of ~1.4 ms a record (docs/benchmarks-notes.md, session 21). Here the answers are read as they come,
 * and the service's thread gets one message per step (connect, collect, close) instead of every packet.
 *
 * How: `threaded(getEngine)` gives each engine with its `connect` replaced: the connect, and every call on the
 * session it returns, is a message to the collector thread (collector.worker.ts), answered with the value or a
 * SyncError (classified there by the engine, as the services would have). What the engine is otherwise — its
 * options, notes, classifyError — stays as it is. One thread per process, started at the first connect; it keeps the
 * process alive only while a call waits for it. If it dies (a hostile server's answer past its heap), every call
 * waiting for it fails with a connection error (transient: a sync retries it) and the next connect starts a new one:
 * the service itself does not go down with it.
 *
 * From dist/ the worker is plain `.js`; from the sources (tsx: the tests, `npm run whalefall`) it is bundled once per
 * process, the packages left to `require` (lib/worker-bundle.ts).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Msg } from '../client/shared/i18n/index.js';
import type { DbType } from '../domain/db-type.js';
import { SyncError, type SyncErrorCode } from '../lib/errors.js';
import { bundleWorker } from '../lib/worker-bundle.js';
import type { Closing, ConnectTarget, Engine, EngineSession } from './engine.js';

/** A call to the collector thread. */
export type ThreadCall =
  { op: 'connect'; dbType: string; target: ConnectTarget } | { op: 'call'; sid: number; method: string; args: unknown[] } | { op: 'close'; sid: number };
export type ThreadRequest = ThreadCall & { id: number };

/** Its answer: the value, or the SyncError it failed with; a close is told first when its goodbye has left (`sent`). */
export interface ThreadReply {
  id: number;
  sent?: true;
  value?: unknown;
  error?: { code: SyncErrorCode; message: string; msg?: Msg };
}

const EXT = path.extname(new URL(import.meta.url).pathname);
const WORKER = new URL(`./collector.worker${EXT}`, import.meta.url);
/**
 * The thread's heap limit (tests lower it, then start a thread: `killCollectorThread`). 128 collections at once and a
 * 40,000-table answer fit well within it; a server that sends more ends the thread, not the service. The lower the
 * limit, the less V8 lets the heap grow past what is live (its growing factor scales with the limit): the thread
 * adds ~20 MB to the process at 128 syncs at once. `idleMs`: with no session open and no call waiting for that long,
 * the thread ends and gives its memory back (~15 MB resident); the next connect starts another, ~0.1 s later than a
 * warm one (a nightly batch or a run of clicks keeps the one thread).
 */
export const collectorThreadLimits = { heapMb: 512, idleMs: 60_000 };

let bundled: Promise<string> | undefined;
/**
 * The worker from the sources (`bundleWorker`, the packages left to `require`). A thread that evaluates a script runs
 * no `--import` preload of the process: the script imports them itself first (all but tsx, which it does not need).
 */
function bundledWorker(preloads: string[]): Promise<string> {
  const urls = preloads.map((m) => (/^[./]/.test(m) ? pathToFileURL(path.resolve(m)).href : m));
  bundled ??= bundleWorker(WORKER, { packages: 'external' }).then(
    (script) => `(async () => {\nfor (const m of ${JSON.stringify(urls)}) await import(m);\n${script}\n})();`,
  );
  return bundled;
}

/**
 * A thread from the sources: the process's node flags less its preloads and the flags about its own script (`-e`,
 * `--input-type=module`: the thread's script is the bundle), and the preloads other than tsx (`bundledWorker`).
 */
export function sourceFlags(argv: readonly string[]): { execArgv: string[]; preloads: string[] } {
  const execArgv: string[] = [];
  const preloads: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const flag = /^(--import|-e|--eval|-p|--print|--input-type)(?:=(.*))?$/.exec(a);
    if (!flag) {
      execArgv.push(a);
      continue;
    }
    const value = flag[2] ?? argv[++i];
    if (flag[1] === '--import' && value && !/\btsx\b/.test(value)) preloads.push(value);
  }
  return { execArgv, preloads };
}

class CollectorThread {
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void; sent?: () => void }>();
  private nextId = 1;
  private dead = false;
  /** Sessions connected and not yet closed. */
  private open = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (r: ThreadReply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      if (r.sent) return w.sent?.();
      this.waiting.delete(r.id);
      if (!this.waiting.size) worker.unref();
      if (r.error) w.reject(new SyncError(r.error.code, r.error.msg ?? r.error.message));
      else w.resolve(r.value);
      this.idleSoon();
    });
    worker.on('error', (err) => this.die(err));
    worker.on('exit', (code) => this.die(new Error(`exit code ${code}`)));
  }

  get alive(): boolean {
    return !this.dead;
  }

  call(req: ThreadCall, sent?: () => void): Promise<unknown> {
    if (this.dead) return Promise.reject(threadGone('stopped'));
    const id = this.nextId++;
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      if (!this.waiting.size) this.worker.ref();
      this.waiting.set(id, { resolve, reject, sent });
      this.worker.postMessage({ ...req, id });
    });
  }

  /** A session was opened (+1) or closed (-1) in the thread. */
  sessions(delta: 1 | -1): void {
    this.open += delta;
    this.idleSoon();
  }

  /** Nothing open and nothing waiting: the thread ends after `collectorThreadLimits.idleMs` more of it. */
  private idleSoon(): void {
    if (this.dead || this.open > 0 || this.waiting.size > 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.dead || this.open > 0 || this.waiting.size > 0) return;
      // Not a stop to report: the next connect finds no thread and starts one.
      this.dead = true;
      if (thread === this) thread = undefined;
      void this.worker.terminate();
    }, collectorThreadLimits.idleMs);
    this.idleTimer.unref();
  }

  /** Ends the thread as a crash would (tests: `killCollectorThread`). */
  kill(): Promise<number> {
    return this.worker.terminate();
  }

  private die(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.idleTimer);
    if (thread === this) thread = undefined;
    const detail = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out of memory' : err.message;
    const gone = threadGone(detail);
    for (const fn of stopListeners) fn(detail, this.waiting.size);
    for (const w of this.waiting.values()) w.reject(gone);
    this.waiting.clear();
    void this.worker.terminate();
  }
}

const stopListeners = new Set<(detail: string, failed: number) => void>();

/** Told when the collector thread stops by itself (or is killed), with why and how many calls waiting for it failed; returns the unsubscribe. */
export function onCollectorThreadStop(fn: (detail: string, failed: number) => void): () => void {
  stopListeners.add(fn);
  return () => stopListeners.delete(fn);
}

function threadGone(detail: string): SyncError {
  return new SyncError('connection', { key: 'cause.collector_thread', params: { detail } });
}

let thread: CollectorThread | undefined;
let starting: Promise<CollectorThread> | undefined;

/** The process's collector thread, started on first use (and again after it died). */
function collectorThread(): Promise<CollectorThread> {
  if (thread?.alive) return Promise.resolve(thread);
  starting ??= (async () => {
    const resourceLimits = { maxOldGenerationSizeMb: collectorThreadLimits.heapMb };
    // From the sources: no tsx (the bundle needs none, and registering it would cost the thread ~0.3 s).
    const flags = sourceFlags(process.execArgv);
    const worker =
      EXT === '.ts'
        ? new Worker(await bundledWorker(flags.preloads), { eval: true, resourceLimits, execArgv: flags.execArgv })
        : new Worker(WORKER, { resourceLimits });
    thread = new CollectorThread(worker);
    return thread;
  })().finally(() => (starting = undefined));
  return starting;
}

/** Whether this process has a collector thread running now (started at a connect, ended after `idleMs` idle or by a crash). */
export function collectorThreadUp(): boolean {
  return thread?.alive === true;
}

/** Tests: the thread ends as if it had crashed; what waited for it fails, the next connect starts another. */
export async function killCollectorThread(): Promise<void> {
  await thread?.kill();
}

/** A session of the collector thread, as the services use one. */
function remoteSession(t: CollectorThread, sid: number, methods: string[]): EngineSession {
  const call = (method: string, args: unknown[] = []) => t.call({ op: 'call', sid, method, args }) as Promise<never>;
  let closed: Closing | undefined;
  const close = (): Closing => {
    // A thread that died took its connections with it.
    if (!t.alive) return Object.assign(Promise.resolve(), { sent: Promise.resolve() });
    let left!: () => void;
    const sent = new Promise<void>((resolve) => (left = resolve));
    const done = t.call({ op: 'close', sid }, left) as Promise<void>;
    void done.then(left, left).finally(() => t.sessions(-1));
    return Object.assign(done, { sent });
  };
  return {
    serverVersion: () => call('serverVersion'),
    collect: () => call('collect'),
    doctor: () => call('doctor'),
    ...(methods.includes('collectTables') ? { collectTables: (scope) => call('collectTables', [scope]) } : {}),
    ...(methods.includes('composition') ? { composition: () => call('composition') } : {}),
    close: () => (closed ??= close()), // closing twice closes once
  };
}

/** `engine` with its sessions opened in the collector thread. */
export function inCollectorThread(engine: Engine): Engine {
  return Object.assign(Object.create(engine) as Engine, {
    async connect(target: ConnectTarget): Promise<EngineSession> {
      const t = await collectorThread();
      const { sid, methods } = (await t.call({ op: 'connect', dbType: engine.dbType, target })) as { sid: number; methods: string[] };
      t.sessions(1);
      return remoteSession(t, sid, methods);
    },
  });
}

/** Each engine of `engineFor` with its sessions in the collector thread. */
export function threaded(engineFor: (dbType: DbType) => Engine): (dbType: DbType) => Engine {
  const made = new Map<Engine, Engine>();
  return (dbType) => {
    const engine = engineFor(dbType);
    let t = made.get(engine);
    if (!t) made.set(engine, (t = inCollectorThread(engine)));
    return t;
  };
}
