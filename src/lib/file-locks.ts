/**
 * Which other processes of this host hold a lock on a file, read from Linux's
 * `/proc/locks`. Every process that has the SQLite store open holds SQLite's
 * own POSIX locks on it: a shared lock on the database file and on the
 * `-shm` file's "dead man switch" byte from its first read until it closes
 * the store (WAL mode). So the holders of those locks are exactly the
 * processes using the store: a `serve`, a `worker`, and any CLI command
 * (`sync`, `aggregate`, `instances import`…), which beat no heartbeat.
 *
 *   lockHolders(['/data/whalefall.db', '/data/whalefall.db-shm'])   // [{ pid: 4242, command: 'whalefall sync --all' }]
 *
 * Elsewhere (no /proc/locks) the list is empty: the caller also asks SQLite
 * whether the store is free (store/backup.ts `storeBusy`).
 */
import fs from 'node:fs';

export interface LockHolder {
  pid: number;
  /** Its command line, the node binary and the script's folder left out (`whalefall sync --all`); '' when unreadable. */
  command: string;
}

/** `/proc/locks`'s `MAJOR:MINOR:INODE` (major and minor in hex) of a file, as Linux encodes st_dev. */
function lockId(st: fs.Stats): string {
  const dev = st.dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
}

/** The command line of `pid` for people: `node /opt/whalefall/bin/whalefall.mjs sync --all` → `whalefall sync --all`. */
export function processCommand(pid: number): string {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const script = argv.findIndex((a, i) => i > 0 && /(?:whalefall(?:\.mjs)?|main\.[jt]s)$/.test(a));
    const words = script > 0 ? ['whalefall', ...argv.slice(script + 1)] : argv;
    return words.join(' ').slice(0, 200);
  } catch {
    return '';
  }
}

/** The processes other than this one holding a POSIX or flock lock on any of `files` (those that exist). */
export function lockHolders(files: string[]): LockHolder[] {
  const ids = new Set<string>();
  for (const f of files) {
    try {
      ids.add(lockId(fs.statSync(f)));
    } catch {
      // not there: nobody holds it
    }
  }
  let table: string;
  try {
    table = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return [];
  }
  const pids = new Set<number>();
  for (const line of table.split('\n')) {
    // `1: POSIX  ADVISORY  READ 7165 fe:00:2147710 128 128` (a waiting lock's line has `->` before its type)
    const m = /^\d+:\s+(?:->\s+)?\S+\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+:[0-9a-f]+:\d+)\s/.exec(line);
    if (m && ids.has(m[2]!)) pids.add(Number(m[1]));
  }
  pids.delete(process.pid);
  pids.delete(0); // a holder in another pid namespace
  return [...pids].sort((a, b) => a - b).map((pid) => ({ pid, command: processCommand(pid) }));
}
