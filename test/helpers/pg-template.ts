/**
 * PostgreSQL test stores cloned from a migrated template (immich's
 * per-file database, pg-boss's schema per test): migrating a fresh store
 * costs ~0.7 s on PostgreSQL, `CREATE DATABASE … TEMPLATE` a fraction of it.
 *
 * The template is named by a hash of the migration sources, so a changed
 * migration gets a new template and a stale one is never used. Creation is
 * serialised across processes (other worktrees' test runs too) by an
 * advisory lock; the template is built under a temporary name and renamed
 * when complete, so a crash half-way leaves nothing that looks usable.
 * Old templates are left alone (another checkout may still use them):
 * `SELECT datname FROM pg_database WHERE datname LIKE 'wf_tpl_%'` lists them.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/db.js';
import { pgAdmin } from './targets.js';

const MIGRATIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/store/migrations');
/** pg_advisory_lock key for template creation ("wf-tpl"). */
const LOCK_KEY = 0x77662d74706c;

let ready: Promise<string> | undefined;

function templateName(): string {
  const hash = crypto.createHash('sha256');
  for (const f of fs
    .readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    hash
      .update(f)
      .update('\0')
      .update(fs.readFileSync(path.join(MIGRATIONS, f)))
      .update('\0');
  }
  return `wf_tpl_${hash.digest('hex').slice(0, 16)}`;
}

async function ensureTemplate(): Promise<string> {
  const name = templateName();
  const admin = await pgAdmin();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      const building = `${name}_build_${process.pid}`;
      await admin.query(`DROP DATABASE IF EXISTS ${building}`);
      await admin.query(`CREATE DATABASE ${building}`);
      const store = openStore({ databaseUrl: `postgres://postgres@127.0.0.1:5432/${building}`, poolMax: 1 });
      try {
        await store.migrate();
      } finally {
        await store.close();
      }
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      await admin.query(`ALTER DATABASE ${name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await admin.end();
  }
  return name;
}

/** Creates database `name` as a copy of the migrated template (built on first use in this process). */
export async function createMigratedDatabase(name: string): Promise<void> {
  ready ??= ensureTemplate();
  let template: string;
  try {
    template = await ready;
  } catch (err) {
    ready = undefined;
    throw err;
  }
  const admin = await pgAdmin();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
}
