/**
 * The collector thread's side (see collector-thread.ts): the engines' sessions live here, each by a number the
 * main thread holds. A message is one call — connect, a session's method, close — answered once with its value or
 * its error, classified here by the engine (`classifyError` needs the driver's own error, which does not survive the
 * trip between threads): the main thread only ever receives a SyncError's code and text.
 */
import { parentPort } from 'node:worker_threads';
import type { DbType } from '../domain/db-type.js';
import { SyncError } from '../lib/errors.js';
import type { ConnectTarget, Engine, EngineSession } from './engine.js';
import { getEngine } from './registry.js';
import type { ThreadReply, ThreadRequest } from './collector-thread.js';

const sessions = new Map<number, { engine: Engine; target: ConnectTarget; session: EngineSession }>();
let nextSid = 1;

/** What the session can do beyond collect (its optional methods), for the main thread's stand-in. */
const OPTIONAL = ['collectTables', 'composition'] as const;

/** What a call failed with, as a SyncError: the engine's classification of the driver's error (the services' rule). */
function classified(err: unknown, engine: Engine, target: ConnectTarget): SyncError {
  try {
    return err instanceof SyncError ? err : engine.classifyError(err, target);
  } catch (classifyErr) {
    return new SyncError('internal', String(classifyErr));
  }
}

/** `work`, its failure classified by the engine. */
async function classifying<T>(work: () => Promise<T>, engine: Engine, target: ConnectTarget): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw classified(err, engine, target);
  }
}

async function handle(m: ThreadRequest): Promise<unknown> {
  if (m.op === 'connect') {
    const engine = getEngine(m.dbType as DbType); // an unknown type: SyncError('unsupported')
    const session = await classifying(() => engine.connect(m.target), engine, m.target);
    const sid = nextSid++;
    sessions.set(sid, { engine, target: m.target, session });
    return { sid, methods: OPTIONAL.filter((k) => typeof session[k] === 'function') };
  }
  const open = sessions.get(m.sid);
  if (!open) throw new SyncError('internal', `no collector session ${m.sid}`);
  if (m.op === 'close') {
    sessions.delete(m.sid);
    const ending = open.session.close();
    // Once the goodbye has left (the engine's `sent`, or within the call), the main thread may free the connection's
    // slot without waiting for the server's answer (connection.service.ts, GOODBYE_MS); told before the close's reply.
    const told = (ending.sent ?? Promise.resolve()).catch(() => {}).then(() => parentPort!.postMessage({ id: m.id, sent: true } satisfies ThreadReply));
    return classifying(() => ending, open.engine, open.target).finally(() => told);
  }
  const fn = (open.session as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[m.method];
  if (typeof fn !== 'function') throw new SyncError('unsupported', `the session has no ${m.method}`);
  return classifying(() => fn.apply(open.session, m.args), open.engine, open.target);
}

parentPort!.on('message', (m: ThreadRequest) => {
  handle(m).then(
    (value) => parentPort!.postMessage({ id: m.id, value } satisfies ThreadReply),
    (err: unknown) => {
      const e = err instanceof SyncError ? err : new SyncError('internal', String(err));
      parentPort!.postMessage({ id: m.id, error: { code: e.code, message: e.message, ...(e.msg ? { msg: e.msg } : {}) } } satisfies ThreadReply);
    },
  );
});
