/**
 * `whalefall backup FILE` / `whalefall restore FILE` for the SQLite store.
 * Backup uses SQLite's online backup API (better-sqlite3 `backup()`): a
 * consistent copy while the service keeps running and writing. Restore checks
 * the file (integrity_check, a Whalefall store), keeps the current store as
 * `whalefall.db.before-restore-<time>`, copies the backup in and migrates it.
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

export class BackupError extends Error {}

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

function check(file: string): void {
  let db: SQLite.Database;
  try {
    db = new SQLite(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new BackupError(`无法打开备份文件 ${file} (cannot open the backup): ${(err as Error).message}`);
  }
  try {
    const ok = db.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') throw new BackupError(`备份文件已损坏 (integrity_check: ${String(ok)})`);
    const t = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'whalefall_migrations'").get();
    if (!t) throw new BackupError(`${file} 不是 Whalefall 的存储备份 (not a Whalefall store: no whalefall_migrations table)`);
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`${file} 不是有效的 SQLite 数据库 (not a SQLite database): ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/** Copy the live store to `dest` with the online backup API; returns the rows per table of the copy. */
export async function backupSqlite(storeFile: string, dest: string, opts: { force?: boolean } = {}): Promise<Record<string, number>> {
  if (!fs.existsSync(storeFile)) throw new BackupError(`存储文件 ${storeFile} 不存在 (no store to back up)`);
  if (fs.existsSync(dest) && !opts.force) throw new BackupError(`${dest} 已存在 (exists; use --force to overwrite)`);
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
  const tmp = `${dest}.partial`;
  fs.rmSync(tmp, { force: true });
  ensurePrivateFile(tmp); // 0600 from the first page: it holds encrypted credentials and password hashes
  const src = new SQLite(storeFile, { fileMustExist: true });
  try {
    src.pragma('busy_timeout = 10000');
    // All pages in one step: the copy is one read snapshot. In small steps (the default) every
    // write of the running service between two steps restarts the backup, which on a busy
    // store never finishes. In WAL mode the one long read does not block the writers.
    await src.backup(tmp, { progress: ({ totalPages }) => Math.max(totalPages, 1) * 2 });
  } finally {
    src.close();
  }
  fs.chmodSync(tmp, PRIVATE_FILE_MODE);
  check(tmp);
  fs.renameSync(tmp, dest);
  return tableCounts(dest);
}

/**
 * Replace the store with a backup (the service must be stopped). The current
 * store is kept beside it; the restored store is migrated to this version.
 */
export async function restoreSqlite(
  backupFile: string,
  storeFile: string,
  env: MigrationEnv = {},
): Promise<{ counts: Record<string, number>; previous: string | null; migrated: string[] }> {
  check(backupFile);
  let previous: string | null = null;
  if (fs.existsSync(storeFile)) {
    previous = `${storeFile}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    // fold the WAL in first, so the kept file is complete on its own
    const cur = new SQLite(storeFile, { fileMustExist: true });
    try {
      cur.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      cur.close();
    }
    fs.renameSync(storeFile, previous);
    for (const ext of ['-wal', '-shm']) fs.rmSync(storeFile + ext, { force: true });
  }
  const src = new SQLite(backupFile, { readonly: true, fileMustExist: true });
  try {
    await src.backup(storeFile);
  } finally {
    src.close();
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
