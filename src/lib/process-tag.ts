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

/** A fresh holder id for one piece of work by this process. */
export function newHolder(): string {
  return `${PROCESS_TAG}:${randomUUID().slice(0, 8)}`;
}

/** true/false when the holder ran on this host (is its process alive?), undefined for another host. */
export function holderAlive(holder: string | null | undefined): boolean | undefined {
  if (!holder) return undefined;
  const parts = holder.split(':');
  if (parts.length < 2 || parts[0] !== HOST) return undefined;
  const pid = Number(parts[1]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return holder.startsWith(PROCESS_TAG);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
