/** `whalefall migrate`: apply (or with --status, list) the store migrations. */
import { encryptSecret, loadKeyRing } from '../../lib/crypto.js';
import type { Command } from 'commander';
import { type Config } from '../../config.js';
import { openStore } from '../../store/db.js';
import { migrationState } from '../../store/migrations/index.js';
import { storeOptionsOf } from '../../context.js';
import { CliError, loadConfig, print } from '../shared.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply store migrations and exit')
    .option('--dry-run', 'list the migrations that would be applied; change nothing')
    .action(async (o: { dryRun?: boolean }) => {
      const config: Config = loadConfig();
      const store = openStore(storeOptionsOf(config));
      try {
        if (o.dryRun) {
          const m = await migrationState(store.db);
          if (m.unknown.length) throw new CliError(`the store is newer than this Whalefall (unknown migrations: ${m.unknown.join(', ')})`);
          print(m.pending.length ? `pending (${m.pending.length}): ${m.pending.join(', ')}` : `store is up to date (${store.describe})`);
          print(`applied: ${m.applied.length ? m.applied.join(', ') : '(none)'}`);
          return;
        }
        // Data migrations of secrets (0019 seals webhook URLs) encrypt with the key ring, as serve would.
        const keys = loadKeyRing(config.dataDir, config.secretKey);
        const applied = await store.migrate({ seal: (clear) => encryptSecret(keys, clear).value });
        print(applied.length ? `applied: ${applied.join(', ')}` : `store is up to date (${store.describe})`);
      } finally {
        await store.close();
      }
    });
}
