/**
 * Who is running something, as stored in lock rows, records and sessions:
 * `host:pid:nonce`. On the same host a dead pid means the work was
 * interrupted and can be recovered at once; on another host we can only wait
 * for the lease to expire.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';

export const HOST = os.hostname();
export const PROCESS_TAG = `${HOST}:${process.pid}:${randomUUID().slice(0, 8)}`;

/**
 * The longest holder any host makes (`newHolder`): a host name of 64 characters (Linux's HOST_NAME_MAX), a pid of
 * 7 digits (pid_max is at most 4194304), two 8-character nonces and the colons. Every store column that keeps a
 * holder or an owner takes at least this (test/store/column-widths.test.ts).
 */
export const HOLDER_MAX_LENGTH = 64 + 1 + 7 + 1 + 8 + 1 + 8;

/** Holders of this process whose work is still running (their locks are renewed by the heartbeat). */
const active = new Set<string>();

/** A fresh holder id for one piece of work by this process; `releaseHolder` when the work is over. */
export function newHolder(): string {
  const h = `${PROCESS_TAG}:${randomUUID().slice(0, 8)}`;
  active.add(h);
  return h;
}

/** The work of `holder` is over (whether or not its lock could be released in the store). */
export function releaseHolder(holder: string): void {
  active.delete(holder);
}

/** Holders of this process with work running now. */
export function activeHolders(): string[] {
  return [...active];
}

/** true/false when the holder ran on this host (is its process alive?), undefined for another host. */
export function holderAlive(holder: string | null | undefined): boolean | undefined {
  if (!holder) return undefined;
  const parts = holder.split(':');
  if (parts.length < 2 || parts[0] !== HOST) return undefined;
  const pid = Number(parts[1]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // This process: alive only while that piece of work runs (a lock left behind by work that failed on a
  // store error is as dead as one left by a killed process).
  if (pid === process.pid) return holder === PROCESS_TAG || active.has(holder);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process a holder tag names (`host:pid:…`), as the API shows who ran a record; null when there is none. */
export function holderProcess(holder: string | null | undefined): { host: string; pid: number } | null {
  if (!holder) return null;
  const [host, pid] = holder.split(':');
  const n = Number(pid);
  return host && Number.isInteger(n) && n > 0 ? { host, pid: n } : null;
}
