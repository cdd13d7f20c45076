/**
 * Which processes use the store now, for a command that must not run under them (`restore`).
 * The serve and worker processes of either store by their heartbeat (host, pid, last
 * seen); on a SQLite store also every other process that has the file open: a CLI `sync`, `aggregate`, `instances
 * import`… beats no heartbeat, but holds SQLite's locks on the file while it has it open (lib/file-locks.ts reads
 * their pids; `storeBusy` asks SQLite itself where those cannot be read). This process is never among them.
 *
 *   await storeUsers(config)   // ['serve pid 4242 on host-a (last seen …)', 'pid 4300 on host-a (whalefall sync --all)']
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { systemClock } from '../lib/clock.js';
import { lockHolders } from '../lib/file-locks.js';
import { createLogger } from '../lib/logger.js';
import { HOST } from '../lib/process-tag.js';
import { ProcessesService } from '../services/processes.service.js';
import { storeBusy } from '../store/backup.js';
import { openStore } from '../store/db.js';
import { ProcessesRepository } from '../store/processes.repository.js';

/** `serve pid 4242 on host-a (last seen …)`, `pid 4300 on host-a (whalefall sync --all)`; none when the store is free. */
export async function storeUsers(config: Config): Promise<string[]> {
  const file = path.join(config.dataDir, 'whalefall.db');
  if (!config.databaseUrl && !fs.existsSync(file)) return [];
  const store = openStore({ databaseUrl: config.databaseUrl, sqliteFile: file, connectTimeoutMs: config.storeConnectTimeoutMs });
  const names: string[] = [];
  try {
    const processes = new ProcessesService({
      repo: new ProcessesRepository(store.db),
      clock: systemClock,
      logger: createLogger('silent'),
      heartbeatMs: config.heartbeatMs,
    });
    const live = await processes.live().catch(() => []); // a store from before the processes table: nobody beats it
    names.push(...live.map((p) => `${p.role} pid ${p.pid} on ${p.host} (last seen ${p.last_seen_at})`));
    if (!config.databaseUrl) {
      const beating = new Set(live.filter((p) => p.host === HOST).map((p) => p.pid));
      const holders = lockHolders([file, `${file}-shm`]).filter((h) => !beating.has(h.pid));
      names.push(...holders.map((h) => `pid ${h.pid} on ${HOST}${h.command ? ` (${h.command})` : ''}`));
    }
  } finally {
    await store.close();
  }
  // Where /proc/locks cannot be read (or names a process of another pid namespace as 0), SQLite still knows.
  if (!names.length && !config.databaseUrl && storeBusy(file)) names.push('another process (its pid cannot be read here)');
  return names;
}
