/**
 * Makes test/upgrade/store-0005.sqlite, the store of the first tagged
 * release of the schema (migrations 0001–0005): the code of that release
 * (FIRST_RELEASE_COMMIT) is extracted from git into a temporary directory,
 * populate.ts runs inside it against a fresh SQLite store, and the result is
 * compacted into one file. `firstReleaseStore` does the same live, e.g. into
 * a PostgreSQL database (the upgrade test uses it for the PostgreSQL store).
 *
 *   npx tsx test/upgrade/make-fixture.ts [out.sqlite]
 *
 * Regenerate only if the first release's rows should change.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** main when migrations 0001–0005 were the whole schema. */
export const FIRST_RELEASE_COMMIT = '2d49570d64b739cebf620c0509e9494c1ee033ac';
export const FIXTURE_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'store-0005.sqlite');
export { FIXTURE_SECRET_KEY } from './populate.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Run populate.ts with the first release's code; the store is `dataDir`/whalefall.db, or `databaseUrl`. */
export function firstReleaseStore(dataDir: string, databaseUrl?: string): void {
  const checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-release-'));
  try {
    const tar = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', FIRST_RELEASE_COMMIT, 'src', 'package.json', 'tsconfig.json'], {
      maxBuffer: 64 << 20,
    });
    execFileSync('tar', ['-x', '-C', checkout], { input: tar });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
    fs.mkdirSync(path.join(checkout, 'test/upgrade'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'test/upgrade/populate.ts'), path.join(checkout, 'test/upgrade/populate.ts'));
    execFileSync(process.execPath, ['--import', 'tsx', path.join(checkout, 'test/upgrade/populate.ts'), dataDir], {
      cwd: checkout,
      env: { ...process.env, DATABASE_URL: databaseUrl ?? '' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } finally {
    fs.rmSync(checkout, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? FIXTURE_FILE);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-fixture-'));
  firstReleaseStore(dataDir);
  const file = path.join(dataDir, 'whalefall.db');
  // One self-contained, compact file.
  const SQLite = (await import('better-sqlite3')).default;
  const db = new SQLite(file);
  db.pragma('journal_mode = DELETE');
  db.pragma('page_size = 1024');
  db.exec('VACUUM');
  db.close();
  fs.copyFileSync(file, out);
  fs.rmSync(dataDir, { recursive: true, force: true });
  console.log(`wrote ${out} (${fs.statSync(out).size} bytes)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
