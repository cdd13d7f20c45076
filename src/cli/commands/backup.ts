/** `whalefall backup|restore`: the SQLite store, online. */
import type { Command } from 'commander';
import { type Config } from '../../config.js';
import { encryptSecret, loadKeyRing } from '../../lib/crypto.js';
import SQLite from 'better-sqlite3';
import { backupSqlite, restoreSqlite } from '../../store/backup.js';
import { storeUsers } from '../store-users.js';
import path from 'node:path';
import { CliError, loadConfig, print } from '../shared.js';

export function register(program: Command): void {
  const storeFile = (config: Config) => {
    if (config.databaseUrl) throw new CliError('the store is PostgreSQL (DATABASE_URL): back it up with pg_dump -Fc and restore with pg_restore (see README)');
    return path.join(config.dataDir, 'whalefall.db');
  };
  const countsLine = (counts: Record<string, number>) =>
    `${Object.values(counts).reduce((a, b) => a + b, 0)} rows in ${Object.keys(counts).length} tables (instances ${counts.instances ?? 0}, database_size_stats ${counts.database_size_stats ?? 0}, users ${counts.users ?? 0})`;
  program
    .command('backup <file>')
    .description('copy the SQLite store to FILE while the service runs (online backup API); secret.key is not included')
    .option('--force', 'overwrite FILE')
    .action(async (file: string, o: { force?: boolean }) => {
      const counts = await backupSqlite(storeFile(loadConfig()), file, { force: o.force });
      print(`backup written to ${file}: ${countsLine(counts)}. Keep secret.key (or WHALEFALL_SECRET_KEY) too: credentials cannot be decrypted without it.`);
    });
  program
    .command('restore <file>')
    .description('replace the SQLite store with a backup (refused while any process has the store open); the current store is kept beside it')
    .action(async (file: string) => {
      const config = loadConfig();
      // First: a live process on the store is named whatever the store (PostgreSQL: then restore with pg_restore).
      await refuseWhileInUse(config);
      const ring = loadKeyRing(config.dataDir, config.secretKey);
      const r = await restoreSqlite(file, storeFile(config), { seal: (clear) => encryptSecret(ring, clear).value });
      print(
        `restored ${file}: ${countsLine(r.counts)}${r.migrated.length ? `; migrated: ${r.migrated.join(', ')}` : ''}${r.previous ? `; the previous store is kept as ${r.previous}` : ''}`,
      );
      const db = new SQLite(storeFile(config), { readonly: true });
      try {
        const missing = (db.prepare('SELECT DISTINCT key_id FROM credentials').all() as { key_id: string }[]).filter((k) => !ring.keys.has(k.key_id));
        if (missing.length)
          print(
            `warning: the encryption key(s) ${missing.map((k) => k.key_id).join(', ')} of some credentials are not loaded: restore the matching secret.key`,
          );
      } finally {
        db.close();
      }
    });
}

/** `restore` while a process uses the store would lose its writes: refused, naming the process (cli/store-users.ts). */
async function refuseWhileInUse(config: Config): Promise<void> {
  const users = await storeUsers(config);
  if (users.length) throw new CliError(`the store is in use by ${users.join(', ')}: stop it first`);
}
