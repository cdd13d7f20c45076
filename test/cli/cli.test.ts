/**
 * The `whalefall` command as a user runs it (a child process on a temp data
 * dir), and `serve` as the README starts it: first start prints the admin
 * password once, the service answers, SIGTERM stops it cleanly.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { closedPort, pgAdmin, uniqueName } from '../helpers/targets.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');

describe('whalefall CLI', () => {
  let dataDir: string;
  let admin: pg.Client;
  const dbName = uniqueName('cli');
  const env = () => ({ ...process.env, WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', LOG_LEVEL: '', WHALEFALL_CONNECT_TIMEOUT_MS: '1500' });
  function run(args: string[], input?: string, extraEnv: Record<string, string> = {}) {
    const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...env(), ...extraEnv }, input, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-cli-'));
    admin = await pgAdmin();
    await admin.query(`CREATE DATABASE ${dbName}`);
  });
  after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrate', () => {
    const r = run(['migrate']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /applied: 0001_initial|up to date/);
    assert.match(run(['migrate']).out, /up to date/);
  });

  it('instances add / list / test, sync --instance and --all, with exit codes', () => {
    const secret = 'Cli-Secret-Pw-42';
    let r = run(
      ['instances', 'add', '--name', 'pg-local', '--type', 'postgresql', '--host', '127.0.0.1', '--username', 'postgres', '--password-stdin', '--tag', 'cli'],
      `${secret}\n`,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /added instance pg-local \(id \d+, postgresql 127\.0\.0\.1:5432\)/);

    r = run(
      ['instances', 'add', '--name', 'pg-local', '--type', 'postgresql', '--host', '127.0.0.1', '--username', 'postgres', '--password-env', 'PW'],
      undefined,
      { PW: secret },
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /^whalefall: name: .*已存在/);
    assert.equal(r.err.trim().split('\n').length, 1, 'one-line reason');
    assert.equal(JSON.parse(run(['instances', 'list', '--json']).out).length, 1, 'the failed add left nothing (no orphan credential either)');

    // An empty first line on stdin (an unset variable piped in) is refused with the way to an empty password on purpose.
    const addPgEmpty = ['instances', 'add', '--name', 'pg-empty', '--type', 'postgresql', '--host', '127.0.0.1', '--username', 'postgres'];
    r = run([...addPgEmpty, '--password-stdin'], '\n');
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /^whalefall: --password-stdin: the first line of standard input is empty \(the password of postgres\); a login without a password: --password-env VAR with VAR set and empty/,
    );
    r = run([...addPgEmpty, '--password-env', 'NO_SUCH_PW_VAR']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^whalefall: --password-env: the environment variable NO_SUCH_PW_VAR is not set \(the password of postgres\)/);
    assert.equal(JSON.parse(run(['instances', 'list', '--json']).out).length, 1, 'neither added an instance');

    r = run(['instances', 'add', '--name', 'bad', '--type', 'nosuchdb', '--host', 'h']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /nosuchdb/);

    r = run(['instances', 'test', 'pg-local']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ok: pg-local answered in \d+ ms \(\d+/);

    r = run(['sync', '--instance', 'pg-local']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /pg-local\s+completed/);
    assert.match(r.out, /session [0-9a-f-]{36}: completed \(1 ok, 0 failed\)/);

    r = run(['instances', 'list']);
    assert.equal(r.code, 0);
    // The local server's total is whatever its databases hold now (other tests and benches create some): MB or GB.
    assert.match(r.out, /pg-local\s+postgresql\s+127\.0\.0\.1:5432\s+yes\s+\d+\s+[\d.]+ [KMGT]B\s+completed/);

    // A failing instance makes `sync --all` exit non-zero, the good one still synced.
    return closedPort().then((port) => {
      const r2 = run(
        [
          'instances',
          'add',
          '--name',
          'pg-dead',
          '--type',
          'postgresql',
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--username',
          'postgres',
          '--password-env',
          'PW',
        ],
        undefined,
        { PW: secret },
      );
      assert.equal(r2.code, 0, r2.err);
      const r3 = run(['sync', '--all']);
      assert.equal(r3.code, 1);
      assert.match(r3.out, /pg-dead\s+failed.*\[connection\]/);
      assert.match(r3.out, /pg-local\s+completed/);
      assert.match(r3.out, /: partial \(1 ok, 1 failed\)/);
      assert.match(r3.err, /2\/2/, 'progress shown');
      const r4 = run(['sync']);
      assert.equal(r4.code, 1);
      assert.match(r4.err, /--instance NAME or --all/);
      const r5 = run(['sync', '--instance', 'nope']);
      assert.equal(r5.code, 1);
      assert.match(r5.err, /实例 "nope" 不存在/);
      for (const x of [r, r2, r3, r4, r5]) assert.ok(!(x.out + x.err).includes(secret), 'password never printed');

      // The same server under another name: asked about as the API and the web form ask, nothing added until confirmed.
      const count = () => JSON.parse(run(['instances', 'list', '--json']).out).length as number;
      const before = count();
      const again = 'instances add --name pg-local-again --type postgresql --host 127.0.0.1 --username postgres --password-env PW'.split(' ');
      const r6 = run(again, undefined, { PW: secret });
      assert.equal(r6.code, 1);
      assert.match(
        r6.err,
        /^whalefall: 127\.0\.0\.1:5432 is already registered as "pg-local": nothing added\. To register the same server again under this name, add --confirm-duplicate/,
      );
      assert.equal(count(), before, 'nothing added');
      const store = new Database(path.join(dataDir, 'whalefall.db'), { readonly: true });
      const made = store
        .prepare(`SELECT count(*) AS n FROM audit_log WHERE action LIKE 'credential.%' AND details LIKE '%pg-local-again-credential%'`)
        .get() as {
        n: number;
      };
      store.close();
      assert.equal(made.n, 0, 'asked before a credential was made for it');
      const r7 = run([...again, '--confirm-duplicate'], undefined, { PW: secret });
      assert.equal(r7.code, 0, r7.err);
      assert.match(r7.out, /added instance pg-local-again/);
      assert.equal(count(), before + 1);
    });
  });

  it('users add / passwd / list and tokens create', () => {
    let r = run(['users', 'add', 'alice', '--role', 'operator']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /created user alice \(operator\), password: \S{12,}/);
    r = run(['users', 'add', 'alice']);
    assert.equal(r.code, 1);
    r = run(['users', 'passwd', 'alice', '--password-stdin'], 'a-new-password-1\n');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'password of alice changed');
    r = run(['users', 'passwd', 'alice', '--password-stdin'], 'short\n');
    assert.equal(r.code, 1);
    assert.match(r.err, /password: 至少 8 个字符/);
    r = run(['tokens', 'create', '--user', 'alice', '--name', 'script']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out.trim(), /^wf_[A-Za-z0-9_-]{40,}$/);
    assert.match(run(['users', 'list']).out, /alice\s+operator\s+yes/);
  });
});

describe('whalefall serve (the README’s first command)', () => {
  it('first start prints the admin password once; the API answers; SIGTERM exits 0', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-serve-'));
    const port = await closedPort();
    const start = () =>
      spawn(process.execPath, [BIN, 'serve'], {
        env: { ...process.env, WHALEFALL_DATA_DIR: dataDir, PORT: String(port), WHALEFALL_SCHEDULER: 'off', WHALEFALL_ADMIN_PASSWORD: '' },
      });
    // Ready when /readyz answers; fails at once if the process exits first. The bound is only a backstop for a hang
    // (a cold start through tsx on a loaded 2-core machine takes well over 10 s).
    const waitReady = async (child: ReturnType<typeof start>) => {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode} before it was ready`);
        try {
          if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
        } catch {
          /* not up yet */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('service did not come up');
    };
    const stop = (child: ReturnType<typeof start>) =>
      new Promise<number | null>((resolve) => {
        child.on('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      });
    let child: ReturnType<typeof start> | undefined;
    try {
      child = start();
      let out = '';
      let errOut = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (errOut += d));
      await waitReady(child);
      const pw = /password: (\S+)/.exec(out)?.[1];
      assert.ok(pw, 'generated admin password printed');
      const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: pw }),
      });
      assert.equal(login.status, 200);
      assert.match(login.headers.get('set-cookie') ?? '', /wf_session=.*HttpOnly/i);
      assert.equal(await stop(child), 0);
      assert.equal((out.match(/password:/g) ?? []).length, 1);
      const logLines = out.split('\n').filter((l) => l.startsWith('{'));
      assert.ok(logLines.length > 0 && logLines.every((l) => !l.includes(pw)), 'the password is printed, never logged');
      // The first start prints no warning (issue #20: it logged `"root" path … dist/client must exist`): no log line
      // at warn or above, nothing on stderr.
      assert.deepEqual(
        logLines.filter((l) => (JSON.parse(l) as { level?: number }).level! >= 40),
        [],
      );
      assert.equal(errOut, '');

      // Second start: same store, no new password.
      child = start();
      out = '';
      child.stdout.on('data', (d) => (out += d));
      await waitReady(child);
      assert.equal(await stop(child), 0);
      assert.ok(!/password:/.test(out), 'printed only on the first start');
      assert.equal((fs.statSync(path.join(dataDir, 'secret.key')).mode & 0o777).toString(8), '600');
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
