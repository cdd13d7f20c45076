/**
 * Real TLS (issue 17, findings 1–2): a second PostgreSQL cluster and a second MariaDB server, started in a
 * temp folder on free ports with a certificate this test signs with its own CA (`openssl`). verify-full /
 * verify-identity pass with the right CA and fail with a wrong one; verify-ca ignores the host name;
 * `doctor` reports the encryption and the certificate; PostgreSQL's `password` method (a clear-text request)
 * is refused without TLS and accepted over it.
 */
import assert from 'node:assert/strict';
import { localizeCheck } from '../../src/engines/common.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConnectTarget, Engine } from '../../src/engines/engine.js';
import { mariadbEngine } from '../../src/engines/mysql/mysql.engine.js';
import { postgresqlEngine } from '../../src/engines/postgresql/postgresql.engine.js';
import { SyncError } from '../../src/lib/errors.js';
import { newTestApp, newTestContext } from '../helpers/context.js';

const PG_BIN = fs.existsSync('/usr/lib/postgresql') ? path.join('/usr/lib/postgresql', fs.readdirSync('/usr/lib/postgresql').sort().at(-1)!, 'bin') : '';
const PASSWORD = 'Tls-Test-Password-9';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForPort(port: number, ms: number, log: () => string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`server on ${port} did not start:\n${log()}`);
    await sleep(200);
  }
}

/** A CA, a server certificate it signs for DNS:localhost only, and an unrelated CA. */
function certificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=whalefall-test-ca');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wrong.key', '-out', 'wrong.crt', '-days', '2', '-subj', '/CN=some-other-ca');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  fs.chmodSync(path.join(dir, 'server.key'), 0o600);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  return { ca: read('ca.crt'), wrong: read('wrong.crt') };
}

function target(host: string, port: number, username: string, password: string, options: Record<string, unknown>, ca?: string): ConnectTarget {
  return { host, port, database: null, username, password, options, connectTimeoutMs: 10_000, queryTimeoutMs: 10_000, ...(ca ? { tls: { ca } } : {}) };
}

async function tryConnect(engine: Engine, t: ConnectTarget): Promise<{ ok: true; tls: string } | { ok: false; error: SyncError }> {
  try {
    const s = await engine.connect(t);
    try {
      // The English line (the doctor's API text is zh-CN unless the request prefers English).
      const tls = localizeCheck(
        (await s.doctor()).find((c) => c.name === 'TLS')!,
        'en',
      ).detail;
      return { ok: true, tls };
    } finally {
      await s.close();
    }
  } catch (err) {
    assert.ok(err instanceof SyncError, String(err));
    return { ok: false, error: err };
  }
}

describe('TLS to a second PostgreSQL cluster (ssl=on, password authentication)', { skip: !PG_BIN && 'PostgreSQL server binaries not installed' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-pg-tls-'));
  let port = 0;
  let server: ChildProcess | undefined;
  let log = '';
  let certs: { ca: string; wrong: string };
  before(async () => {
    certs = certificates(dir);
    fs.writeFileSync(path.join(dir, 'pw'), PASSWORD);
    execFileSync('chown', ['-R', 'postgres:postgres', dir]);
    const asPostgres = (cmd: string, args: string[]) =>
      (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
    // `password`: the server asks for the password in clear text (AuthenticationCleartextPassword).
    execFileSync(
      ...asPostgres(path.join(PG_BIN, 'initdb'), [
        '-D',
        path.join(dir, 'data'),
        '-U',
        'postgres',
        '--pwfile',
        path.join(dir, 'pw'),
        '--auth-host=password',
        '--auth-local=trust',
        '-E',
        'UTF8',
        '--no-sync',
      ]),
      { stdio: 'pipe' },
    );
    port = await freePort();
    const [cmd, args] = asPostgres(path.join(PG_BIN, 'postgres'), [
      '-D',
      path.join(dir, 'data'),
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${path.join(dir, 'server.crt')}`,
      '-c',
      `ssl_key_file=${path.join(dir, 'server.key')}`,
      '-c',
      'fsync=off',
      '-c',
      'shared_buffers=16MB',
    ]);
    server = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (c: Buffer) => (log += c));
    server.stderr!.on('data', (c: Buffer) => (log += c));
    await waitForPort(port, 60_000, () => log);
  });
  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.on('exit', r));
      const pid = Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGQUIT'); // immediate shutdown of the postmaster (runuser passes no signals on)
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const pg = (host: string, options: Record<string, unknown>, ca?: string) =>
    tryConnect(postgresqlEngine, target(host, port, 'postgres', PASSWORD, options, ca));

  it('sslmode=disable: the clear-text password request is refused, naming sslmode', async () => {
    const r = await pg('127.0.0.1', { sslmode: 'disable' });
    assert.equal(r.ok, false);
    assert.match((r as { error: SyncError }).error.message, /明文.*sslmode/);
  });

  it('sslmode=require: encrypted (certificate not checked); the password goes over TLS', async () => {
    const r = await pg('127.0.0.1', { sslmode: 'require' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.match(r.tls, /Encrypted: TLSv1\.[23] .*subject CN=localhost, expires \d{4}-\d\d-\d\dT.*NOT verified/);
  });

  it('verify-full passes with the right CA and fails with a wrong one', async () => {
    const good = await pg('localhost', { sslmode: 'verify-full' }, certs.ca);
    assert.ok(good.ok, JSON.stringify(good));
    assert.match(good.tls, /certificate verified \(mode verify-full\)/);
    const bad = await pg('localhost', { sslmode: 'verify-full' }, certs.wrong);
    assert.equal(bad.ok, false);
    assert.match((bad as { error: SyncError }).error.message, /certificate/i);
    assert.ok(!(bad as { error: SyncError }).error.message.includes(PASSWORD));
  });

  it('through the API: the CA is write-only, stored encrypted, and test-connection verifies with it', async () => {
    const ctx = await newTestContext('sqlite');
    const { app, callers } = await newTestApp(ctx);
    try {
      const admin = { authorization: `Bearer ${callers.admin.bearer}` };
      const cred = await ctx.credentials.create({ name: 'tls-pg', username: 'postgres', password: PASSWORD }, { userId: null, username: 'test' });
      const bad = await app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: admin,
        payload: { name: 'x', db_type: 'postgresql', host: 'localhost', port, tls_ca: 'not a certificate' },
      });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.body, /tls_ca/);
      const created = await app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: admin,
        payload: {
          name: 'pg-tls',
          db_type: 'postgresql',
          host: 'localhost',
          port,
          credential_id: cred.id,
          options: { sslmode: 'verify-full' },
          tls_ca: certs.ca,
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const inst = created.json().data as { id: number; tls: { ca: { subject: string; expires_at: string } } };
      assert.equal(inst.tls.ca.subject, 'CN=whalefall-test-ca');
      assert.ok(!created.body.includes('BEGIN CERTIFICATE'));
      const row = await ctx.store.db.selectFrom('instances').select(['tls_enc', 'options']).where('id', '=', inst.id).executeTakeFirstOrThrow();
      assert.match(row.tls_enc ?? '', /^v1:/);
      assert.ok(!JSON.stringify(row).includes('BEGIN CERTIFICATE'), 'stored encrypted');
      const test = await app.inject({ method: 'POST', url: `/api/instances/${inst.id}/test-connection`, headers: admin });
      assert.equal(test.statusCode, 200, test.body);
      const doctor = await app.inject({ method: 'POST', url: `/api/instances/${inst.id}/doctor`, headers: { ...admin, 'accept-language': 'en' } });
      assert.match(doctor.body, /certificate verified \(mode verify-full\)/);
      // the wrong CA: refused
      const swap = await app.inject({ method: 'PATCH', url: `/api/instances/${inst.id}`, headers: admin, payload: { tls_ca: certs.wrong } });
      assert.equal(swap.statusCode, 200, swap.body);
      assert.equal(swap.json().data.tls.ca.subject, 'CN=some-other-ca');
      const refused = await app.inject({ method: 'POST', url: `/api/instances/${inst.id}/test-connection`, headers: admin });
      assert.notEqual(refused.statusCode, 200, refused.body);
      assert.match(refused.body, /certificate/i);
      for (const text of [...ctx.logs, (await app.inject({ method: 'GET', url: `/api/instances/${inst.id}`, headers: admin })).body])
        assert.ok(!text.includes('BEGIN CERTIFICATE') && !text.includes(PASSWORD));
    } finally {
      await app.close();
      await ctx.cleanup();
    }
  });

  it('verify-ca ignores the host name; verify-full checks it', async () => {
    assert.ok((await pg('127.0.0.1', { sslmode: 'verify-ca' }, certs.ca)).ok);
    const r = await pg('127.0.0.1', { sslmode: 'verify-full' }, certs.ca);
    assert.equal(r.ok, false);
    assert.match((r as { error: SyncError }).error.message, /127\.0\.0\.1|altnames|host/i);
  });
});

describe('TLS to a second MariaDB server', { skip: !fs.existsSync('/usr/bin/mariadb-install-db') && 'MariaDB not installed' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-maria-tls-'));
  let port = 0;
  let server: ChildProcess | undefined;
  let log = '';
  let certs: { ca: string; wrong: string };
  before(async () => {
    certs = certificates(dir);
    execFileSync(
      'mariadb-install-db',
      ['--no-defaults', `--datadir=${path.join(dir, 'data')}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'],
      { stdio: 'pipe' },
    );
    port = await freePort();
    server = spawn(
      '/usr/sbin/mariadbd',
      [
        '--no-defaults',
        `--datadir=${path.join(dir, 'data')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${path.join(dir, 'sock')}`,
        '--user=root',
        `--pid-file=${path.join(dir, 'pid')}`,
        '--skip-log-bin',
        '--innodb-buffer-pool-size=16M',
        `--ssl-ca=${path.join(dir, 'ca.crt')}`,
        `--ssl-cert=${path.join(dir, 'server.crt')}`,
        `--ssl-key=${path.join(dir, 'server.key')}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.on('data', (c: Buffer) => (log += c));
    server.stderr!.on('data', (c: Buffer) => (log += c));
    await waitForPort(port, 60_000, () => log);
  });
  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.on('exit', r));
      server.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const maria = (host: string, options: Record<string, unknown>, ca?: string) => tryConnect(mariadbEngine, target(host, port, 'root', '', options, ca));

  it('ssl=required encrypts; off does not', async () => {
    const plain = await maria('127.0.0.1', { ssl: 'off' });
    assert.ok(plain.ok, JSON.stringify(plain));
    assert.match(plain.tls, /^Not encrypted \(mode off;/);
    const enc = await maria('127.0.0.1', { ssl: 'required' });
    assert.ok(enc.ok, JSON.stringify(enc));
    assert.match(enc.tls, /^Encrypted: .*subject CN=localhost/);
  });

  it('verify-identity passes with the right CA and fails with a wrong one; verify-ca ignores the host name', async () => {
    const good = await maria('localhost', { ssl: 'verify-identity' }, certs.ca);
    assert.ok(good.ok, JSON.stringify(good));
    assert.match(good.tls, /certificate verified/);
    const bad = await maria('localhost', { ssl: 'verify-identity' }, certs.wrong);
    assert.equal(bad.ok, false);
    assert.ok((await maria('127.0.0.1', { ssl: 'verify-ca' }, certs.ca)).ok);
  });
});
