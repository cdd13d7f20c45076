/**
 * Secrets: credential key rotation (`whalefall keys rotate/list/remove`), a
 * full flow after which no password appears anywhere (API responses and
 * headers, logs, error messages, CSV, /metrics, the audit log, the store's
 * own file — the flow includes bulk connection tests, table syncs, discovery,
 * import files with passwords in the wrong places, and the export), security headers and cookie flags, login throttling,
 * scrypt password hashes. Login delays per (account, address) and tokens: test/security/login.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { backupSqlite } from '../../src/store/backup.js';
import { decryptSecret, loadKeyRing, SecretKeyError, verifyPassword } from '../../src/lib/crypto.js';
import { withCli } from '../helpers/cli.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { startPgResponder, type PgResponder } from '../helpers/pg-responder.js';
import { closedPort } from '../helpers/targets.js';

const counts = { places: 0, bytes: 0, headers: 0 };

/** A CA, a client certificate and key made with openssl; `grep`: a body line of each (what a leak would show). */
function tlsMaterial(): { ca: string; cert: string; key: string; grep: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-grep-tls-'));
  try {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=grep-ca');
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.crt', '-days', '2', '-subj', '/CN=grep-client');
    const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
    const body = (pem: string) => pem.split('\n')[3]!;
    const [ca, cert, key] = [read('ca.crt'), read('client.crt'), read('client.key')];
    return { ca, cert, key, grep: [body(ca), body(cert), body(key)] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('key rotation: whalefall keys rotate / list / remove', () => {
  it('re-encrypts every credential with a new key id; the old key decrypts until removed', async () => {
    await withCli({ PW1: 'Rotate-Pw-One-1', PW2: 'Rotate-Pw-Two-2' }, async (cli, dataDir) => {
      assert.equal((await cli(['migrate'])).code, 0);
      for (const [name, env] of [
        ['rot-a', 'PW1'],
        ['rot-b', 'PW2'],
      ]) {
        const r = await cli([
          'instances',
          'add',
          '--name',
          name!,
          '--type',
          'postgresql',
          '--host',
          '127.0.0.1',
          '--username',
          'postgres',
          '--password-env',
          env!,
          // Both on the local server: the second is the same server again, on purpose.
          '--confirm-duplicate',
        ]);
        assert.equal(r.code, 0, r.err);
      }
      const dbFile = path.join(dataDir, 'whalefall.db');
      const rows = () => {
        const db = new Database(dbFile, { readonly: true });
        try {
          return db.prepare('SELECT name, key_id, password_enc FROM credentials ORDER BY name').all() as {
            name: string;
            key_id: string;
            password_enc: string;
          }[];
        } finally {
          db.close();
        }
      };
      const before = rows();
      const oldId = before[0]!.key_id;
      assert.ok(before.every((r) => r.key_id === oldId && r.password_enc.startsWith(`v1:${oldId}:`)));
      let list = await cli(['keys', 'list']);
      assert.match(list.out, new RegExp(`${oldId}\\s+yes\\s+2`));

      const rot = await cli(['keys', 'rotate']);
      assert.equal(rot.code, 0, rot.err);
      const newId = /new key (\w+); 2 credential\(s\), 0 instance TLS material\(s\) and 0 webhook row\(s\) re-encrypted/.exec(rot.out)?.[1];
      assert.ok(newId && newId !== oldId, rot.out);
      const afterRows = rows();
      assert.ok(
        afterRows.every((r) => r.key_id === newId && r.password_enc.startsWith(`v1:${newId}:`)),
        JSON.stringify(afterRows.map((r) => r.key_id)),
      );
      assert.equal(fs.readFileSync(path.join(dataDir, 'secret.key'), 'utf8').trim().split('\n').length, 2);
      assert.equal((fs.statSync(path.join(dataDir, 'secret.key')).mode & 0o777).toString(8), '600');
      const ring = loadKeyRing(dataDir, undefined);
      assert.equal(ring.currentId, newId);
      assert.deepEqual(
        afterRows.map((r) => decryptSecret(ring, r.password_enc)),
        ['Rotate-Pw-One-1', 'Rotate-Pw-Two-2'],
      );
      // the old key still decrypts a value written before the rotation (a backup, say)
      assert.equal(decryptSecret(ring, before[0]!.password_enc), 'Rotate-Pw-One-1');
      list = await cli(['keys', 'list']);
      assert.match(list.out, new RegExp(`${newId}\\s+yes\\s+2`));
      assert.match(list.out, new RegExp(`${oldId}\\s+0`));
      // and the service still connects with the re-encrypted password (PostgreSQL trusts local connections)
      const test = await cli(['instances', 'test', 'rot-a']);
      assert.equal(test.code, 0, test.err);

      // the current key cannot go; the old one can, and then old values no longer decrypt
      const refuse = await cli(['keys', 'remove', newId]);
      assert.equal(refuse.code, 1);
      assert.match(refuse.err, /current key cannot be removed|still encrypts/);
      const removed = await cli(['keys', 'remove', oldId]);
      assert.equal(removed.code, 0, removed.err);
      const ring2 = loadKeyRing(dataDir, undefined);
      assert.throws(() => decryptSecret(ring2, before[0]!.password_enc), SecretKeyError);
      assert.equal(decryptSecret(ring2, rows()[1]!.password_enc), 'Rotate-Pw-Two-2');
      assert.equal((await cli(['instances', 'test', 'rot-b'])).code, 0);
    });
  });

  it('a key still in use is not removed; with WHALEFALL_SECRET_KEY rotation is refused with the way to do it', async () => {
    await withCli({ PW1: 'Rotate-Pw-One-1' }, async (cli, dataDir) => {
      assert.equal(
        (await cli(['instances', 'add', '--name', 'x', '--type', 'postgresql', '--host', '127.0.0.1', '--username', 'postgres', '--password-env', 'PW1'])).code,
        0,
      );
      const id = loadKeyRing(dataDir, undefined).currentId;
      // a second key appended by hand makes `id` old but still used
      fs.appendFileSync(path.join(dataDir, 'secret.key'), Buffer.alloc(32, 7).toString('base64') + '\n');
      const r = await cli(['keys', 'remove', id]);
      assert.equal(r.code, 1);
      assert.match(r.err, /still encrypts 1 credential/);
      process.env.WHALEFALL_SECRET_KEY = 'a passphrase from the environment';
      const env = await cli(['keys', 'rotate']);
      delete process.env.WHALEFALL_SECRET_KEY;
      assert.equal(env.code, 1);
      assert.match(env.err, /WHALEFALL_SECRET_KEY/);
    });
  });
});

describe('no password anywhere after a full flow', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let responder: PgResponder;
  const SECRETS = ['Grep-Me-Cred-Pw-9f7e', 'Grep-Me-Cred-Pw2-a1b2', 'Grep-Me-Echo-Pw-77aa', 'Grep-Me-User-Pw-4c2d', 'Grep-Me-User-Pw2-e5f6'];
  /** TLS material (issue 17): a CA certificate, a client certificate and its key, each grepped by a line of its body. */
  const pems = tlsMaterial();
  /** A webhook URL's token: never in responses, logs, exports, metrics, the store or backups (stored encrypted, 0019). */
  const HOOK_TOKEN = 'Grep-Me-Hook-Token-5e1f';
  const seen: { where: string; text: string }[] = [];

  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_LOGIN_RATE_LIMIT: '1000', WHALEFALL_DISCOVERY: 'on' } });
    ({ app, callers } = await newTestApp(ctx));
    // A hostile server that echoes the password back in its error messages.
    responder = await startPgResponder({ handler: () => ({ error: { code: '42501', message: `permission denied for user with password ${SECRETS[2]}` } }) });
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
    await responder?.close();
  });

  async function call(method: string, url: string, payload?: unknown, headers: Record<string, string> = { authorization: `Bearer ${callers.admin.bearer}` }) {
    const res = await app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object | string }) });
    seen.push({ where: `${method} ${url} → ${res.statusCode}`, text: res.body + JSON.stringify(res.headers) });
    return res;
  }

  it('runs the flow: credentials, instances, tests, syncs (good, refused, echoing), users, logins', async () => {
    const cred = (await call('POST', '/api/credentials', { name: 'grep', db_type: 'postgresql', username: 'postgres', password: SECRETS[0] })).json().data
      .id as number;
    const echoCred = (await call('POST', '/api/credentials', { name: 'echo', username: 'collector', password: SECRETS[2] })).json().data.id as number;
    const good = (await call('POST', '/api/instances', { name: 'grep-pg', db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred })).json()
      .data.id as number;
    const dead = (
      await call('POST', '/api/instances', { name: 'grep-dead', db_type: 'postgresql', host: '127.0.0.1', port: await closedPort(), credential_id: cred })
    ).json().data.id as number;
    const echo = (
      await call('POST', '/api/instances', { name: 'grep-echo', db_type: 'postgresql', host: responder.host, port: responder.port, credential_id: echoCred })
    ).json().data.id as number;
    for (const id of [good, dead, echo]) {
      await call('POST', `/api/instances/${id}/test-connection`);
      await call('POST', `/api/instances/${id}/doctor`);
      await call('POST', `/database-sizes/instances/${id}/sync-capacity`);
    }
    assert.equal((await call('POST', `/database-sizes/instances/${good}/sync-capacity`)).statusCode, 200);
    const echoed = await call('POST', `/database-sizes/instances/${echo}/sync-capacity`);
    assert.equal(echoed.statusCode, 400);
    assert.match(echoed.body, /permission denied for user with password \*\*\*/, 'the echoed password is scrubbed, the rest of the message kept');
    const batch = await call('POST', '/api/sync/capacity', { instance_ids: [good, dead, echo] });
    const sid = batch.json().data.session_id as string;
    for (let i = 0; i < 600; i++) {
      if ((await call('GET', `/api/sync-sessions/${sid}`)).json().data.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await call('PATCH', `/api/credentials/${cred}`, { password: SECRETS[1] });
    await call('POST', `/database-sizes/instances/${good}/sync-capacity`);
    await call('POST', '/api/credentials', { name: 'too-long', username: 'u', password: `${SECRETS[0]}${'x'.repeat(2000)}` }); // refused: the error must not echo it
    const user = (await call('POST', '/api/users', { username: 'grep-user', password: SECRETS[3], role: 'viewer' })).json().data.id as number;
    await call('POST', '/api/auth/login', { username: 'grep-user', password: SECRETS[3] }, {});
    await call('POST', '/api/auth/login', { username: 'grep-user', password: SECRETS[4] }, {}); // wrong
    await call('PATCH', `/api/users/${user}`, { password: SECRETS[4] });
    await call('POST', '/api/users', { username: 'short-pw', password: 'short' });
    await call('POST', '/api/statistics/aggregate', {});

    // fleet: bulk connection tests (with and without the doctor), table syncs, discovery, import and export
    const bulk = await call('POST', '/api/instances/test-connection', { ids: [good, dead, echo] });
    assert.equal(bulk.statusCode, 200, bulk.body);
    assert.match(JSON.stringify(bulk.json().data), /\*\*\*/, 'the echoing server is in the results, scrubbed');
    await call('POST', '/api/instances/test-connection', { all: true, doctor: true });
    for (const id of [good, dead, echo]) await call('POST', `/api/instances/${id}/tables/sync`, { databases: ['postgres'] });
    const found = await call('POST', '/api/instances/discover', {
      targets: ['127.0.0.1'],
      ports: [5432, responder.port],
      credential: 'grep',
      timeout_ms: 1000,
      deadline_ms: 10000,
    });
    assert.equal(found.statusCode, 200, found.body);
    const csv = (rows: string) => ({
      authorization: `Bearer ${callers.admin.bearer}`,
      'content-type': rows.startsWith('-') || rows.startsWith('instances') ? 'application/yaml' : 'text/csv',
    });
    /** Files with a password in the wrong place: refused, and the report locates it without quoting it. */
    const files = [
      // a password where none belongs: an unknown column or key, a wrong cell, a credential name
      `name,db_type,host,port,credential,password\nimp-a,postgresql,127.0.0.1,5432,grep,${SECRETS[0]}\n`,
      `name,db_type,host,port,credential\nimp-b,postgresql,127.0.0.1,${SECRETS[0]},grep\nimp-c,postgresql,${SECRETS[1]},5432,${SECRETS[2]}\n`,
      `- {name: imp-d, db_type: mysql, host: 127.0.0.1, password: ${SECRETS[0]}, credential: grep}\n`,
      `instances:\n  - {name: imp-e, db_type: mysql, host: 127.0.0.1, options: {password: ${SECRETS[1]}}, credential: ${SECRETS[2]}}\n`,
      // and a valid file, imported
      `name,db_type,host,port,credential\nimp-ok,postgresql,127.0.0.1,5432,grep\n`,
    ];
    for (const f of files) {
      await call('POST', '/api/instances/import?dry_run=true', f, csv(f));
      // 127.0.0.1:5432 is registered already (grep-pg): the import is confirmed as a duplicate on purpose.
      await call('POST', '/api/instances/import?partial=true&confirm_duplicates=true', f, csv(f));
    }
    assert.deepEqual(
      (await ctx.instances.list({})).filter((i) => i.name.startsWith('imp-')).map((i) => i.name),
      ['imp-ok'],
      'only the valid file was imported',
    );
    for (const format of ['csv', 'yaml']) assert.equal((await call('GET', `/api/instances/export?format=${format}`)).statusCode, 200);
    await call('PATCH', '/api/auth/me', { locale: 'en' });
    await call('POST', `/api/sync-sessions/${sid}/cancel`);
    // TLS material (write-only) and a webhook with a token in its URL
    const tlsInst = await call('POST', '/api/instances', {
      name: 'grep-tls',
      confirm_duplicate: true,
      db_type: 'postgresql',
      host: '127.0.0.1',
      port: 5432,
      credential_id: cred,
      options: { sslmode: 'require' },
      tls_ca: pems.ca,
      tls_cert: pems.cert,
      tls_key: pems.key,
    });
    assert.equal(tlsInst.statusCode, 201, tlsInst.body);
    await call('POST', `/api/instances/${tlsInst.json().data.id}/test-connection`);
    await call('POST', `/api/instances/${tlsInst.json().data.id}/doctor`);
    await call('PATCH', `/api/instances/${tlsInst.json().data.id}`, { tls_ca: pems.ca, description: 'rotated' });
    const rule = await call('POST', '/api/alert-rules', {
      name: 'grep-hook',
      kind: 'size_above',
      threshold: 1,
      channels: [{ type: 'dingtalk', url: `http://127.0.0.1:9/robot/send?access_token=${HOOK_TOKEN}` }],
    });
    assert.equal(rule.statusCode, 201, rule.body);
    await ctx.alerts.evaluate();
    await ctx.alertDelivery.deliverDue();
    await backupSqlite(path.join(ctx.dataDir, 'whalefall.db'), path.join(ctx.dataDir, 'grep-backup.db'));
  });

  it('greps every response, log line, export, metric, audit entry and the store file', async () => {
    // every readable route, with real ids
    const good = (await ctx.instances.list({})).find((i) => i.name === 'grep-pg')!.id;
    const sid = (await ctx.store.db.selectFrom('sync_sessions').select('session_id').executeTakeFirstOrThrow()).session_id;
    for (const r of app.routeTable.filter((x) => x.method === 'GET' && !x.url.startsWith('/docs'))) {
      const url =
        r.url.replace(':id', r.url.startsWith('/api/sync-sessions/') ? sid : String(good)) +
        (r.url.includes('database-') && r.url.includes(':id') ? '?database=postgres' : '');
      await call('GET', url);
    }
    await call('GET', '/api/audit?limit=1000');
    for (const [i, line] of ctx.logs.entries()) seen.push({ where: `log line ${i}`, text: line });
    const audit = await ctx.store.db.selectFrom('audit_log').selectAll().execute();
    seen.push({ where: 'audit_log table', text: JSON.stringify(audit) });
    const records = await ctx.store.db.selectFrom('sync_instance_records').selectAll().execute();
    seen.push({ where: 'sync_instance_records table', text: JSON.stringify(records) });
    assert.ok(
      records.some((r) => r.error_message?.includes('***')),
      'the echoing server was recorded, scrubbed',
    );
    for (const f of fs.readdirSync(ctx.dataDir)) {
      const file = path.join(ctx.dataDir, f);
      if (fs.statSync(file).isFile()) seen.push({ where: `store file ${f}`, text: fs.readFileSync(file).toString('latin1') });
    }
    const leaks: string[] = [];
    const everywhere = [...SECRETS, ...pems.grep];
    for (const s of seen) {
      counts.places++;
      counts.bytes += s.text.length;
      // Webhook URLs are encrypted at rest (0019) like passwords: their tokens are nowhere in clear, the store and backups included.
      if (s.text.includes(HOOK_TOKEN)) leaks.push(`webhook token in ${s.where}`);
      for (const secret of everywhere)
        if (s.text.includes(secret))
          leaks.push(`${secret} in ${s.where}: …${s.text.slice(Math.max(0, s.text.indexOf(secret) - 80), s.text.indexOf(secret) + 40)}…`);
    }
    assert.deepEqual(leaks, [], leaks.join('\n'));
    console.log(
      `secrets: ${everywhere.length} passwords, certificates and keys and a webhook token grepped in ${counts.places} places (${(counts.bytes / 1e6).toFixed(1)} MB of responses, logs, exports, metrics, audit, store files): 0 found`,
    );
  });
});

describe('headers, cookies, throttling, hashing', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  const now = new Date('2026-11-25T10:00:00Z');
  before(async () => {
    ctx = await newTestContext('sqlite', {
      env: { WHALEFALL_COOKIE_SECURE: '1', WHALEFALL_LOGIN_RATE_LIMIT: '200' },
      clock: { now: () => now },
    });
    ({ app, callers } = await newTestApp(ctx));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  it('security headers on pages, API answers and errors', async () => {
    for (const [url, headers] of [
      ['/api/instances', { authorization: `Bearer ${callers.viewer.bearer}` }],
      ['/api/instances', {}],
      ['/no-such-page', {}],
      ['/healthz', {}],
      ['/docs', {}],
      ['/docs/static/index.html', {}],
      ['/docs/json', {}],
    ] as const) {
      const res = await app.inject({ method: 'GET', url, headers });
      const h = res.headers;
      const csp = String(h['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/, `${url}: ${csp}`);
      assert.match(csp, /default-src 'self'/, `${url}: ${csp}`);
      assert.match(csp, /object-src 'none'/, `${url}: ${csp}`);
      assert.equal(h['x-content-type-options'], 'nosniff', url);
      assert.ok(h['x-frame-options'], url);
      assert.ok(h['referrer-policy'], url);
      assert.ok(h['strict-transport-security'], url);
      assert.equal(h['x-powered-by'], undefined, url);
      counts.headers++;
    }
  });

  it('the session cookie is HttpOnly, SameSite and (behind HTTPS) Secure', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 't-viewer', password: 'pw-viewer-Secret1' } });
    assert.equal(res.statusCode, 200, res.body);
    const raw = String(res.headers['set-cookie']);
    assert.match(raw, /wf_session=/);
    assert.match(raw, /HttpOnly/);
    assert.match(raw, /SameSite=Lax/);
    assert.match(raw, /Secure/);
    assert.match(raw, /Path=\//);
    assert.match(raw, /Expires=/);
  });

  it('passwords are stored as salted scrypt hashes', async () => {
    await ctx.auth.createUser({ username: 'same-a', password: 'Same-Password-1' }, { userId: null, username: 'test' });
    await ctx.auth.createUser({ username: 'same-b', password: 'Same-Password-1' }, { userId: null, username: 'test' });
    const rows = await ctx.store.db.selectFrom('users').select(['username', 'password_hash']).where('username', 'in', ['same-a', 'same-b']).execute();
    for (const r of rows) {
      assert.match(r.password_hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
      assert.ok(await verifyPassword('Same-Password-1', r.password_hash));
      assert.ok(!(await verifyPassword('Same-Password-2', r.password_hash)));
    }
    assert.notEqual(rows[0]!.password_hash, rows[1]!.password_hash, 'salted');
  });

  it('logins are throttled per client address (429 with a clear message)', async () => {
    const limited = await newTestContext('sqlite', { env: { WHALEFALL_LOGIN_RATE_LIMIT: '5' } });
    const { app: app2 } = await newTestApp(limited); // 3 logins of its own
    try {
      const statuses: number[] = [];
      let last = '';
      for (let i = 0; i < 4; i++) {
        const r = await app2.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'nobody', password: 'whatever' } });
        statuses.push(r.statusCode);
        last = r.body;
      }
      assert.deepEqual(statuses, [401, 401, 429, 429]);
      assert.match(last, /请求过于频繁.*too many requests/);
      // another address is not limited
      const other = await app2.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress: '10.9.8.7',
        payload: { username: 'nobody', password: 'whatever' },
      });
      assert.equal(other.statusCode, 401);
    } finally {
      await app2.close();
      await limited.cleanup();
    }
    console.log(`security headers checked on ${counts.headers} answers; cookie flags, scrypt and throttling asserted`);
  });
});
