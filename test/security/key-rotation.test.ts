/**
 * `whalefall keys rotate` re-encrypts every secret of the ring, not only credential passwords (issue 17): an
 * instance's TLS material (`tls_enc`), webhook URLs and a robot's signing secret. Shown by removing the old key
 * afterwards: the TLS instance still connects and the signed webhook still delivers (before, both were left
 * under the old key and became unreadable once it was removed).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import SQLite from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dingtalkSign } from '../../src/services/robots/dingtalk.js';
import { addKey, loadKeyRing, removeKey, SecretKeyError } from '../../src/lib/crypto.js';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { keyUsage, removeUnusedKey, rotateKeys } from '../../src/services/key-rotation.js';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/lib/logger.js';
import { openStore } from '../../src/store/db.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { addInstance, receiver, setInstanceTotal } from '../alerts/helpers.js';
import { startWhalefall, type Proc } from '../helpers/procs.js';
import { withCli } from '../helpers/cli.js';

function selfSignedCa(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-rot-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=rotation-ca'],
      { cwd: dir, stdio: 'pipe' },
    );
    return fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('keys rotate re-encrypts TLS material, webhook URLs and robot secrets', () => {
  let ctx: TestContext;
  let hook: Awaited<ReturnType<typeof receiver>>;
  before(async () => {
    ctx = await newTestContext('sqlite');
    hook = await receiver();
  });
  after(async () => {
    await hook?.close();
    await ctx?.cleanup();
  });

  it('after rotate and removing the old key, a TLS instance connects and a signed webhook delivers', async () => {
    const oldId = ctx.keys.currentId;
    const cred = await ctx.credentials.create({ name: 'rot', username: 'postgres', password: 'rot-pw-1' }, CLI_ACTOR);
    const tlsInst = await ctx.instances.create(
      { name: 'rot-tls', db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.id, options: { sslmode: 'prefer' }, tls_ca: selfSignedCa() },
      CLI_ACTOR,
    );
    assert.match((await ctx.repos.instances.get(tlsInst.id))!.tls_enc!, new RegExp(`^v1:${oldId}:`));
    const inst = await addInstance(ctx);
    const rule = await ctx.alerts.createRule(
      {
        name: 'rot-hook',
        kind: 'size_above',
        instance_id: inst.id,
        threshold: 1,
        channels: [{ type: 'dingtalk', url: hook.url, secret: 'SEC-rotation-secret' }],
      },
      CLI_ACTOR,
    );

    const r = await rotateKeys(
      { dataDir: ctx.dataDir, keys: ctx.keys, keyFromEnv: false, credentials: ctx.credentials, instances: ctx.instances, alerts: ctx.alerts },
      CLI_ACTOR,
    );
    assert.deepEqual([r.credentials, r.tls, r.webhooks], [1, 1, 1]);
    removeKey(ctx.dataDir, ctx.keys, oldId);
    assert.equal(ctx.keys.keys.has(oldId), false);

    // Every secret is under the new key.
    const now = new RegExp(`^v1:${r.key_id}:`);
    assert.match((await ctx.repos.instances.get(tlsInst.id))!.tls_enc!, now);
    const channels = JSON.parse((await ctx.repos.alerts.getRule(rule.id))!.channels) as { url_enc: string; secret_enc: string }[];
    assert.match(channels[0]!.url_enc, now);
    assert.match(channels[0]!.secret_enc, now);
    assert.equal(JSON.stringify(channels).includes('SECRET-TOKEN-123'), false, 'the URL is not stored in clear');

    // The TLS instance still connects (its CA decrypted with the new key) …
    const probe = await ctx.connections.probe(tlsInst.id);
    assert.match(probe.server_version, /^\d+/);
    // … and the webhook still goes out, signed with the secret decrypted with the new key.
    await setInstanceTotal(ctx, inst.id, ctx.clock.now().toISOString().slice(0, 10), 10_000);
    await ctx.alerts.evaluate();
    const sum = await ctx.alertDelivery.deliverDue();
    assert.equal(sum.delivered, 1, JSON.stringify(sum));
    assert.equal(hook.got.length, 1);
    const u = new URL(hook.got[0]!.path, 'http://x');
    assert.equal(u.searchParams.get('access_token'), 'SECRET-TOKEN-123');
    assert.equal(u.searchParams.get('sign'), dingtalkSign('SEC-rotation-secret', Number(u.searchParams.get('timestamp'))));
  });
});

describe('keys remove refuses a key still needed by TLS material or a webhook, not only by a credential', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await newTestContext('sqlite');
  });
  after(async () => ctx?.cleanup());

  it('names what still needs the key; after rotate the key goes', async () => {
    const oldId = ctx.keys.currentId;
    // Under the old key: one instance's TLS material (no credential) and one rule's webhook URL + signing secret.
    const tlsInst = await ctx.instances.create(
      { name: 'keep-tls', db_type: 'postgresql', host: '127.0.0.1', port: 5432, options: { sslmode: 'prefer' }, tls_ca: selfSignedCa() },
      CLI_ACTOR,
    );
    const inst = await addInstance(ctx);
    const rule = await ctx.alerts.createRule(
      {
        name: 'keep-hook',
        kind: 'size_above',
        instance_id: inst.id,
        threshold: 1,
        channels: [{ type: 'dingtalk', url: 'http://127.0.0.1:9/robot/send?access_token=KEEP-TOKEN', secret: 'SEC-keep' }],
      },
      CLI_ACTOR,
    );
    // A firing alert queues a delivery whose URL is sealed under the old key too.
    await setInstanceTotal(ctx, inst.id, ctx.clock.now().toISOString().slice(0, 10), 10_000);
    await ctx.alerts.evaluate();
    assert.equal((await ctx.repos.alerts.sealedChannels()).urls.length, 1);
    // A second key becomes current without re-encrypting anything: the old key is no longer current but still needed.
    const newId = addKey(ctx.dataDir, ctx.keys, false);
    await ctx.credentials.create({ name: 'under-new', username: 'u', password: 'pw-under-new' }, CLI_ACTOR);
    const old = (await keyUsage(ctx)).find((k) => k.key_id === oldId)!;
    assert.deepEqual([old.current, old.credentials, old.tls, old.webhooks], [false, 0, 1, 3]);
    const d = { ...ctx, dataDir: ctx.dataDir };

    await assert.rejects(
      removeUnusedKey(d, oldId),
      (err: Error) =>
        err instanceof SecretKeyError &&
        /still encrypts 0 credential\(s\), 1 instance TLS material\(s\), 3 webhook secret\(s\)/.test(err.message) &&
        /请先运行/.test(err.message),
    );
    assert.equal(loadKeyRing(ctx.dataDir, undefined).keys.has(oldId), true, 'the key file still holds the key');
    // The webhooks alone also keep the key: TLS material re-encrypted, the rule and delivery not yet.
    await ctx.instances.reencryptTls();
    await assert.rejects(removeUnusedKey(d, oldId), /0 instance TLS material\(s\), 3 webhook secret\(s\)/);
    await ctx.alerts.reencryptSecrets();
    const channels = JSON.parse((await ctx.repos.alerts.getRule(rule.id))!.channels) as { url_enc: string }[];
    assert.match(channels[0]!.url_enc, new RegExp(`^v1:${newId}:`));
    assert.equal((await keyUsage(ctx)).find((k) => k.key_id === oldId)?.webhooks ?? 0, 0);

    await removeUnusedKey(d, oldId);
    assert.equal(loadKeyRing(ctx.dataDir, undefined).keys.has(oldId), false);
    // Still readable with the remaining key.
    assert.equal((await ctx.instances.get(tlsInst.id)).name, 'keep-tls');
    assert.equal((await ctx.alerts.getRule(rule.id)).name, 'keep-hook');
  });
});

describe("keys' refusals are in the CLI's language", () => {
  it('WHALEFALL_LANG=en: English only; zh-CN: Chinese with the English in parentheses', async () => {
    const cjk = /[\u3400-\u9fff]/;
    await withCli({ WHALEFALL_LANG: 'en' }, async (cli, dataDir) => {
      assert.equal((await cli(['keys', 'list'])).code, 0);
      const current = loadKeyRing(dataDir, undefined).currentId;
      const none = await cli(['keys', 'remove', 'nosuch']);
      assert.equal(none.code, 1);
      assert.equal(none.err, 'whalefall: No key nosuch (whalefall keys list shows them)\n');
      const cur = await cli(['keys', 'remove', current]);
      assert.equal(cur.err, `whalefall: Key ${current} is the current key: it cannot be removed\n`);
      process.env.WHALEFALL_SECRET_KEY = 'a-key-from-the-environment';
      const env = await cli(['keys', 'rotate']);
      delete process.env.WHALEFALL_SECRET_KEY;
      assert.match(env.err, /^whalefall: The key comes from WHALEFALL_SECRET_KEY: set a new value there/);
      for (const r of [none, cur, env]) assert.doesNotMatch(r.err, cjk);
    });
    await withCli({ WHALEFALL_LANG: 'zh-CN' }, async (cli) => {
      assert.equal((await cli(['keys', 'remove', 'nosuch'])).err, 'whalefall: 密钥 nosuch 不存在 (no such key)\n');
    });
  });
});

describe('/readyz checks the secret key against the stored credentials (in every mode)', () => {
  it('another key: 503 naming the credential and the fix; the right key: ready', async () => {
    const ctx = await newTestContext('sqlite', { env: { WHALEFALL_SECRET_KEY: 'the-first-secret-key-of-this-test' } });
    const apps: Awaited<ReturnType<typeof buildApp>>[] = [];
    let other: Awaited<ReturnType<typeof createContext>> | undefined;
    try {
      await ctx.credentials.create({ name: 'needs-key-one', username: 'u', password: 'pw-key-one' }, CLI_ACTOR);
      const app = await buildApp(ctx);
      apps.push(app);
      assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
      // The same store started with another key (local queue mode: nothing refuses to start).
      const config = loadConfig({
        WHALEFALL_DATA_DIR: ctx.dataDir,
        WHALEFALL_SECRET_KEY: 'a-different-secret-key',
        WHALEFALL_SCHEDULER: 'off',
        WHALEFALL_TZ: 'UTC',
      });
      other = await createContext(config, { store: openStore({ sqliteFile: path.join(ctx.dataDir, 'whalefall.db') }), logger: createLogger('silent') });
      const wrong = await buildApp(other);
      apps.push(wrong);
      const res = await wrong.inject({ url: '/readyz' });
      assert.equal(res.statusCode, 503, res.body);
      assert.match(res.json().reason, /cannot decrypt the stored credential "needs-key-one".*WHALEFALL_SECRET_KEY or secret\.key/);
      assert.equal((await wrong.inject({ url: '/healthz' })).statusCode, 200, 'alive, not ready');
    } finally {
      for (const a of apps) await a.close();
      await other?.close();
      await ctx.cleanup();
    }
  });
});

describe('keys rotate by another process while a serve runs (a real serve and CLI processes)', { timeout: 180_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-rot-live-'));
  const env = {
    WHALEFALL_DATA_DIR: dataDir,
    WHALEFALL_TZ: 'UTC',
    WHALEFALL_LANG: 'en',
    WHALEFALL_SCHEDULER: 'off',
    WHALEFALL_ADMIN_PASSWORD: 'pw-Admin-rotate-1',
    PW: 'pw-rotate-live',
  };
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.resolve('test/helpers/whalefall.mjs'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r;
  };
  const cli = (args: string[]) => run(args).stdout;
  let serve: Proc | undefined;
  after(async () => {
    serve?.child.kill('SIGKILL');
    await serve?.exit;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the running serve decrypts with the new key without a restart, and after the old key is removed', async () => {
    cli([
      'instances',
      'add',
      '--name',
      'live-rot',
      '--type',
      'postgresql',
      '--host',
      '127.0.0.1',
      '--port',
      '5432',
      '--username',
      'postgres',
      '--password-env',
      'PW',
    ]);
    serve = startWhalefall('serve', env);
    const base = `http://127.0.0.1:${await serve.port}`;
    const token = cli(['tokens', 'create', '--user', 'admin', '--name', 'rot']).trim().split('\n').at(-1)!.trim();
    const ready = async () => {
      const r = await fetch(`${base}/readyz`);
      return { status: r.status, body: await r.text() };
    };
    const probe = async () => {
      const r = await fetch(`${base}/api/instances/1/test-connection`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      return { status: r.status, body: await r.text() };
    };
    assert.equal((await ready()).status, 200);
    assert.equal((await probe()).status, 200);
    const oldId = loadKeyRing(dataDir, undefined).currentId;

    // A worker beating the store from another host: it reads its key there, so rotate names it.
    const db = new SQLite(path.join(dataDir, 'whalefall.db'));
    const now = new Date().toISOString();
    db.prepare('INSERT INTO processes (tag, role, host, pid, version, started_at, last_seen_at, running_jobs) VALUES (?, ?, ?, ?, ?, ?, ?, 0)').run(
      'far-host:4321:x',
      'worker',
      'far-host',
      4321,
      '0.1.0',
      now,
      now,
    );
    db.close();
    const rotated = run(['keys', 'rotate']);
    const out = rotated.stdout;
    assert.match(
      rotated.stderr,
      /^warning: worker pid 4321 on far-host use this store from another host and read their key there \(secret\.key or WHALEFALL_SECRET_KEY\): give them the new key/,
    );
    assert.doesNotMatch(rotated.stderr, new RegExp(`pid ${serve.child.pid}`), 'the serve on this host follows the key file');
    assert.match(out, /new key [0-9a-f]{12}; 1 credential\(s\)/);
    assert.match(out, /read the new key from secret\.key when they next need one \(no restart\)/);
    const r1 = await ready();
    assert.equal(r1.status, 200, r1.body);
    const p1 = await probe();
    assert.equal(p1.status, 200, p1.body);

    // The old key removed by another process too: the serve needs it no more.
    cli(['keys', 'remove', oldId]);
    assert.equal((await ready()).status, 200);
    assert.equal((await probe()).status, 200);
    // A credential the serve creates now is under the key that is current in the file.
    const created = await fetch(`${base}/api/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'after-rotation', username: 'u', password: 'pw-after' }),
    });
    assert.equal(created.status, 201, await created.text());
    const keys = cli(['keys', 'list']);
    assert.doesNotMatch(keys, new RegExp(oldId), 'nothing is under the removed key');
  });
});
