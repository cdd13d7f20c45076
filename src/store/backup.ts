/**
 * `whalefall backup FILE` / `whalefall restore FILE` for the SQLite store.
 * Backup uses SQLite's online backup API (better-sqlite3 `backup()`): a
 * consistent copy while the service keeps running and writing. Restore checks
 * the file (integrity_check, a Whalefall store), keeps the current store as
 * `whalefall.db.before-restore-<time>`, copies the backup's pages into the store
 * file (never renamed: see restoreSqlite) and migrates it. A backup is one file
 * (no -wal or -shm beside it).
 * A PostgreSQL store is backed up with pg_dump / pg_restore (see README).
 * The credentials' encryption key is NOT in the backup: keep secret.key (or
 * WHALEFALL_SECRET_KEY) safe separately, or the restored credentials cannot
 * be decrypted.
 */
import type { MigrationEnv } from './migrations/index.js';
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { openStore } from './db.js';
import { ensurePrivateFile, PRIVATE_FILE_MODE } from '../lib/private-files.js';
import { msg, msgText, type Msg } from '../client/shared/i18n/index.js';

/** A refused backup or restore; its message by key, printed in the CLI's language. */
export class BackupError extends Error {
  readonly msg: Msg;
  constructor(m: Msg) {
    super(msgText(m));
    this.msg = m;
  }
}

/** Rows per table of a SQLite store file (Whalefall tables only). */
export function tableCounts(file: string): Record<string, number> {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
    return Object.fromEntries(
      tables.map(({ name }) => [name, (db.prepare(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number }).n]),
    );
  } finally {
    db.close();
  }
}

function refuseDirectory(file: string): void {
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new BackupError(msg('cli.file_is_dir', { file }));
}

function check(file: string): void {
  refuseDirectory(file);
  let db: SQLite.Database;
  try {
    db = new SQLite(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new BackupError(msg('cli.restore.cannot_open', { file, cause: (err as Error).message }));
  }
  try {
    const ok = db.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') throw new BackupError(msg('cli.restore.corrupt', { result: String(ok) }));
    const t = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'whalefall_migrations'").get();
    if (!t) throw new BackupError(msg('cli.restore.not_whalefall', { file }));
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(msg('cli.restore.not_sqlite', { file, cause: (err as Error).message }));
  } finally {
    db.close();
  }
}

/** The files a backup must never overwrite: the store, its journal files and the key file beside it. */
function storeFiles(storeFile: string): string[] {
  return [storeFile, `${storeFile}-wal`, `${storeFile}-shm`, `${storeFile}-journal`, path.join(path.dirname(storeFile), 'secret.key')];
}

/** A path as the file system resolves it: symlinks followed, a missing last part joined to its resolved folder. */
function realPath(p: string): string {
  const abs = path.resolve(p);
  for (const resolve of [() => fs.realpathSync(abs), () => path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs))]) {
    try {
      return resolve();
    } catch {
      // not there: try the folder
    }
  }
  return abs;
}

/** Whether `a` and `b` are one file: the same path once resolved (relative, `..`, symlinks), or one inode (a hard link). */
function sameFile(a: string, b: string): boolean {
  if (realPath(a) === realPath(b)) return true;
  const x = fs.statSync(a, { throwIfNoEntry: false });
  const y = fs.statSync(b, { throwIfNoEntry: false });
  return x !== undefined && y !== undefined && x.dev === y.dev && x.ino === y.ino;
}

/** Remove a SQLite file and the journal files SQLite may have left beside it. */
function removeSqliteFile(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

/**
 * Copy the live store to `dest` with the online backup API; returns the rows per table of the copy. `dest` is one
 * self-contained file (rollback journal, no -wal or -shm beside it); it is written as `dest.partial` and renamed when
 * checked, and nothing is left behind when the copy fails. The store's own files and the key file are refused: the
 * rename would replace the file the running processes have open, and their later writes would go to a deleted file.
 */
export async function backupSqlite(storeFile: string, dest: string, opts: { force?: boolean } = {}): Promise<Record<string, number>> {
  if (!fs.existsSync(storeFile)) throw new BackupError(msg('cli.backup.no_store', { file: storeFile }));
  const target = storeFiles(storeFile).find((f) => sameFile(dest, f));
  if (target) throw new BackupError(msg('cli.backup.store_file', { file: dest, target }));
  refuseDirectory(dest);
  if (fs.existsSync(dest) && !opts.force) throw new BackupError(msg('cli.backup.exists', { file: dest }));
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
  const tmp = `${dest}.partial`;
  removeSqliteFile(tmp);
  try {
    ensurePrivateFile(tmp); // 0600 from the first page: it holds encrypted credentials and password hashes
    await copyPages(storeFile, tmp);
    // The copy keeps the store's WAL mode, in which every later reader (check, counts, restore) leaves -wal and -shm
    // files beside it: a backup is one file.
    leaveWal(tmp);
    fs.chmodSync(tmp, PRIVATE_FILE_MODE);
    check(tmp);
    const counts = tableCounts(tmp);
    fs.renameSync(tmp, dest);
    return counts;
  } finally {
    removeSqliteFile(tmp);
  }
}

/**
 * Whether another connection has the store open, in this process or any other: SQLite's exclusive lock on it cannot
 * be had. In WAL mode every connection holds a shared lock on the file from its first read until it closes, so an
 * idle `serve` counts as much as a running `sync`. Asked without waiting (a holder does not let go).
 */
export function storeBusy(storeFile: string): boolean {
  if (!fs.existsSync(storeFile)) return false;
  const db = new SQLite(storeFile, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw err;
  } finally {
    db.close();
  }
}

/** Copy a SQLite file with the online backup API into `dest` (created, or overwritten page by page under its locks). */
async function copyPages(from: string, dest: string): Promise<void> {
  const src = new SQLite(from, { readonly: true, fileMustExist: true });
  try {
    src.pragma('busy_timeout = 10000');
    // All pages in one step: the copy is one read snapshot. In small steps (the default) every
    // write of the running service between two steps restarts the backup, which on a busy
    // store never finishes. In WAL mode the one long read does not block the writers.
    await src.backup(dest, { progress: ({ totalPages }) => Math.max(totalPages, 1) * 2 });
  } finally {
    src.close();
  }
}

/** Take a SQLite file out of WAL mode (rollback journal): one file on its own, and a page size a copy may change. */
function leaveWal(file: string): void {
  const db = new SQLite(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

/**
 * Replace the store with a backup (no process may be using it: the CLI refuses first). The current store is copied
 * beside it as `whalefall.db.before-restore-<time>`, then the backup's pages are written into the store file itself
 * through SQLite (its locks, its WAL): the store is never renamed or removed, so a process that opened it all the
 * same goes on with the restored store instead of writing to a file moved aside. The restored store is migrated to
 * this version.
 */
export async function restoreSqlite(
  backupFile: string,
  storeFile: string,
  env: MigrationEnv = {},
): Promise<{ counts: Record<string, number>; previous: string | null; migrated: string[] }> {
  if (sameFile(backupFile, storeFile)) throw new BackupError(msg('cli.restore.is_store', { file: backupFile }));
  return leavingNoTrace(backupFile, () => restoreChecked(backupFile, storeFile, env));
}

/**
 * Run `fn`, which reads `file`, then remove the `-wal` and `-shm` files that reading a WAL-mode file (a backup made by
 * an older version, or by hand) created beside it: an empty WAL and its index. A backup is left as it was found.
 */
async function leavingNoTrace<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const wal = `${file}-wal`;
  const shm = `${file}-shm`;
  const had = { wal: fs.existsSync(wal), shm: fs.existsSync(shm) };
  try {
    return await fn();
  } finally {
    if (!had.wal && fs.statSync(wal, { throwIfNoEntry: false })?.size === 0) fs.rmSync(wal, { force: true });
    if (!had.shm && !fs.existsSync(wal)) fs.rmSync(shm, { force: true });
  }
}

async function restoreChecked(
  backupFile: string,
  storeFile: string,
  env: MigrationEnv,
): Promise<{ counts: Record<string, number>; previous: string | null; migrated: string[] }> {
  check(backupFile);
  let previous: string | null = null;
  if (fs.existsSync(storeFile)) {
    previous = `${storeFile}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    ensurePrivateFile(previous);
    try {
      await copyPages(storeFile, previous);
      leaveWal(previous); // one file on its own, as a backup
    } catch (err) {
      removeSqliteFile(previous);
      throw err;
    }
  } else {
    ensurePrivateFile(storeFile);
  }
  try {
    // Out of WAL mode first (nobody else has it open: the CLI checked): in WAL mode the copy cannot change the page
    // size, and a backup's may differ (1,024 bytes in stores of the first release). openStore below turns WAL on again.
    leaveWal(storeFile);
    await copyPages(backupFile, storeFile);
  } catch (err) {
    if (previous) removeSqliteFile(previous); // the store is as it was: no copy of it is left behind
    throw err;
  }
  fs.chmodSync(storeFile, PRIVATE_FILE_MODE);
  const store = openStore({ sqliteFile: storeFile });
  let migrated: string[];
  try {
    migrated = await store.migrate(env);
  } finally {
    await store.close();
  }
  return { counts: tableCounts(storeFile), previous, migrated };
}
