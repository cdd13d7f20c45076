/**
 * Files only the service's user may read: the data directory (0700), the SQLite store with its WAL and
 * shared-memory files, backups and exports (0600) — whatever the umask (`npm start` under umask 022 left
 * them 0755/0644: password hashes and encrypted credentials readable by every local user).
 *
 * SQLite creates `-wal` and `-shm` with the mode of the database file, so creating the store file 0600
 * before SQLite opens it covers all three; existing files are tightened too.
 */
import fs from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Create `dir` (0700) or tighten it. A directory shared with others (sticky and world-writable, like /tmp)
 * or owned by another user is left alone: it is not ours to close.
 */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const st = fs.statSync(dir);
  const shared = (st.mode & 0o1000) !== 0 && (st.mode & 0o002) !== 0;
  const ours = typeof process.getuid !== 'function' || st.uid === process.getuid();
  if (!shared && ours && (st.mode & 0o777) !== PRIVATE_DIR_MODE) fs.chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Create `file` empty with mode 0600 if missing; tighten it if it exists. */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
  fs.chmodSync(file, PRIVATE_FILE_MODE);
}

/** Tighten the files that exist among `files` (e.g. a store's -wal and -shm). */
export function tightenExisting(files: string[]): void {
  for (const f of files) {
    try {
      fs.chmodSync(f, PRIVATE_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Write `data` to `file` readable by the owner only: the mode is set before the first byte is written. */
export function writePrivateFile(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w', PRIVATE_FILE_MODE);
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    fs.writeFileSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}
