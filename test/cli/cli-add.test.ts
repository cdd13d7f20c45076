/**
 * `instances add` as the CLI trial used it: a password without a login, two password sources, a refusal after
 * the credential was made (audit entries left behind), a name already taken said as a credential clash.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { withCli } from '../helpers/cli.js';

const add = (name: string, ...more: string[]) => ['instances', 'add', '--name', name, '--type', 'postgresql', '--host', '127.0.0.1', ...more];

function auditActions(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, 'whalefall.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT action FROM audit_log ORDER BY id`).all() as { action: string }[]).map((r) => r.action);
  } finally {
    db.close();
  }
}

describe('whalefall instances add', () => {
  it('refuses a password without --username, and two password sources, storing nothing', () =>
    withCli({ WHALEFALL_LANG: 'en', EMPTY: '' }, async (cli) => {
      let r = await cli(add('x10', '--port', '5433', '--password-env', 'EMPTY'));
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: --password-env needs --username/);
      r = await cli(add('x11', '--password-stdin'));
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: --password-stdin needs --username/);
      r = await cli(add('x12', '--username', 'postgres', '--password-env', 'EMPTY', '--password-stdin'));
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: give either --password-stdin or --password-env VAR, not both/);
      const list = JSON.parse((await cli(['instances', 'list', '--json'])).out) as unknown[];
      assert.deepEqual(list, [], 'nothing registered');
    }));

  it('a refused add writes nothing, not even to the audit log; a name taken is said as such', () =>
    withCli({ WHALEFALL_LANG: 'en', EMPTY: '' }, async (cli, dataDir) => {
      let r = await cli(add('pg-prod', '--username', 'postgres', '--password-env', 'EMPTY'));
      assert.equal(r.code, 0, r.err);
      const before = auditActions(dataDir);
      assert.deepEqual(before, ['credential.create', 'instance.create']);

      r = await cli(add('x2', '--port', 'abc', '--username', 'postgres', '--password-env', 'EMPTY'));
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: port: /);
      r = await cli(add('pg-prod', '--host', '127.0.0.2', '--username', 'postgres', '--password-env', 'EMPTY'));
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: name: an instance named "pg-prod" already exists/);
      r = await cli(add('pg-again', '--username', 'postgres', '--password-env', 'EMPTY'));
      assert.equal(r.code, 1);
      assert.match(r.err, /is already registered as "pg-prod"/);
      assert.deepEqual(auditActions(dataDir), before, 'no credential.create / credential.delete for refused adds');

      // A credential left by an instance deleted earlier does not keep its name from being added again.
      const db = new Database(path.join(dataDir, 'whalefall.db'));
      db.prepare(`DELETE FROM instances WHERE name = 'pg-prod'`).run();
      db.close();
      r = await cli(add('pg-prod', '--port', '5433', '--username', 'postgres', '--password-env', 'EMPTY'));
      assert.equal(r.code, 0, r.err);
      const list = JSON.parse((await cli(['instances', 'list', '--json'])).out) as { name: string; credential_id: number | null }[];
      assert.equal(list.length, 1);
      assert.notEqual(list[0]!.credential_id, null);
    }));
});
