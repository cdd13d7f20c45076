/**
 * Email through a local SMTP sink (smtp-server, with authentication): alert
 * transitions on the rule's `email` channel and the daily digest (top
 * growers, new/deleted databases, failures), each HTML + text, in English or
 * zh-CN per recipient. The SMTP password never reaches the logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Collection } from '../../src/domain/collection.js';
import type { DbType } from '../../src/domain/db-type.js';
import type { Engine } from '../../src/engines/engine.js';
import { getEngine } from '../../src/engines/registry.js';
import { SyncError } from '../../src/lib/errors.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { measuredDb } from '../helpers/collection.js';

const actor = { userId: null, username: 'test' };
const SMTP_PASSWORD = 'smtp-pass-123';

interface Received {
  mail: ParsedMail;
  rcpt: string[];
}

/** Sizes by day: `app` grows 100 MB a day, `scratch` is dropped on day 2, `new_db` appears on day 2. */
function fakeEngine(dbType: DbType, day: () => number): Engine {
  return {
    ...getEngine(dbType),
    async connect(target) {
      if (target.host === 'down.example') throw new SyncError('connection', 'connect ECONNREFUSED down.example:5432');
      const d = day();
      const db = (name: string, size: number) => measuredDb(name, size, { method: 'logical' });
      return {
        serverVersion: async () => 'fake 1',
        doctor: async () => [],
        close: async () => {},
        collect: async (): Promise<Collection> => ({
          server_version: 'fake 1',
          warnings: [],
          databases: [db('app', 2_000_000_000 + d * 100_000_000), ...(d === 1 ? [db('scratch', 5_000_000)] : [db('new_db', 1_000_000)])],
        }),
      };
    },
  };
}

describe('email alerts and the daily digest', () => {
  let ctx: TestContext;
  let smtp: SMTPServer;
  let port = 0;
  const received: Received[] = [];
  let day = 1;
  let now = new Date('2026-11-20T03:00:00Z');

  before(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, cb) {
        if (auth.username === 'wf' && auth.password === SMTP_PASSWORD) return cb(null, { user: 'wf' });
        return cb(new Error('invalid credentials'));
      },
      onData(stream, session, cb) {
        simpleParser(stream).then(
          (mail) => {
            received.push({ mail, rcpt: session.envelope.rcptTo.map((r) => r.address) });
            cb();
          },
          (err: Error) => cb(err),
        );
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    port = (smtp.server.address() as { port: number }).port;
    ctx = await newTestContext('sqlite', {
      env: {
        WHALEFALL_SMTP_URL: `smtp://wf:${SMTP_PASSWORD}@127.0.0.1:${port}`,
        WHALEFALL_SMTP_FROM: 'Whalefall <whalefall@example.com>',
        WHALEFALL_DIGEST_RECIPIENTS: 'ops@example.com:en, dba@example.cn',
        WHALEFALL_SYNC_RETRIES: '0',
      },
      clock: { now: () => now },
      engineFor: (t) => fakeEngine(t, () => day),
    });
    const cred = await ctx.credentials.create({ name: 'pg', username: 'monitor', password: 'monitor-Secret-9' }, actor);
    await ctx.instances.create({ name: 'big-pg', db_type: 'postgresql', host: 'big.example', port: 5432, credential_id: cred.id }, actor);
    await ctx.instances.create({ name: 'down-pg', db_type: 'postgresql', host: 'down.example', port: 5432, credential_id: cred.id }, actor);
  });
  after(async () => {
    await ctx?.cleanup();
    await new Promise<void>((r) => smtp?.close(() => r()));
  });

  it('an email channel needs a mailto: address (clear 400-style message)', async () => {
    await assert.rejects(
      ctx.alerts.createRule({ name: 'bad', kind: 'size_above', threshold: 1, channels: [{ type: 'email', url: 'https://example.com' }] }, actor),
      /channels\[0\]\.url: 邮件渠道需要 mailto:地址\[\?lang=en\|zh-CN\]/,
    );
    await assert.rejects(
      ctx.alerts.createRule({ name: 'bad', kind: 'size_above', threshold: 1, channels: [{ type: 'email', url: 'mailto:ops@example.com?lang=fr' }] }, actor),
      /language must be zh-CN or en/,
    );
  });

  it('an alert transition is mailed to each recipient in their language, HTML + text', async () => {
    await ctx.alerts.createRule(
      {
        name: '容量超过 2 GB',
        kind: 'size_above',
        threshold: 2_000_000_000,
        channels: [
          { type: 'email', url: 'mailto:ops@example.com?lang=en' },
          { type: 'email', url: 'mailto:dba@example.cn' },
        ],
      },
      actor,
    );
    await ctx.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor });
    await ctx.alerts.idle();
    await ctx.alertDelivery.deliverDue();
    const deliveries = await ctx.store.db.selectFrom('alert_deliveries').selectAll().execute();
    assert.ok(deliveries.length >= 2);
    assert.deepEqual([...new Set(deliveries.map((d) => d.status))], ['delivered'], JSON.stringify(deliveries.map((d) => d.error)));
    const en = received.find((r) => r.rcpt.includes('ops@example.com'))!;
    const zh = received.find((r) => r.rcpt.includes('dba@example.cn'))!;
    assert.ok(en && zh, `got ${received.length} messages`);
    assert.match(en.mail.subject!, /^\[Whalefall FIRING\] 容量超过 2 GB — big-pg$/);
    assert.match(zh.mail.subject!, /^\[鲸落 告警\] 容量超过 2 GB — big-pg$/);
    for (const r of [en, zh]) {
      assert.equal(r.mail.from!.value[0]!.address, 'whalefall@example.com');
      assert.ok(r.mail.text && r.mail.html, 'both parts');
      assert.match(r.mail.text, /big-pg/);
      assert.match(String(r.mail.html), /<td>big-pg<\/td>/);
    }
    assert.match(en.mail.text!, /Instance: big-pg/);
    assert.match(en.mail.text!, /Sent automatically by Whalefall/);
    assert.match(zh.mail.text!, /实例: big-pg/);
    assert.match(String(zh.mail.html), /lang="zh-CN"/);
    assert.equal(en.mail.headers.get('content-language'), 'en');
  });

  it('the daily digest: top growers, new and deleted databases, failures — per recipient language', async () => {
    day = 2;
    now = new Date('2026-11-21T03:00:00Z');
    await ctx.capacitySync.syncMany('all-active', { syncType: 'scheduled_task', actor });
    await ctx.alerts.idle();
    received.length = 0;
    now = new Date('2026-11-21T08:00:00Z');
    const r = await ctx.email.sendDigest(now);
    assert.deepEqual(r, { sent: 2, failed: 0 });
    const en = received.find((x) => x.rcpt.includes('ops@example.com'))!.mail;
    const zh = received.find((x) => x.rcpt.includes('dba@example.cn'))!.mail;
    assert.equal(en.subject, 'Whalefall capacity digest 2026-11-21');
    assert.equal(zh.subject, '鲸落容量日报 2026-11-21');
    assert.match(en.text!, /## Top growing instances \(1\)\n- big-pg \| [\d.]+ GB \| [\d.]+ GB \| \+91\.55 MB/);
    assert.match(en.text!, /## New databases \(1\)\n- big-pg \| new_db/);
    assert.match(en.text!, /## Deleted databases \(1\)\n- big-pg \| scratch/);
    assert.match(en.text!, /## Failed syncs \(1\)\n- down-pg \| \[connection\] /);
    assert.match(zh.text!, /## 增长最多的实例 \(1\)/);
    assert.match(zh.text!, /## 已删除的数据库 \(1\)\n- big-pg \| scratch/);
    assert.match(String(zh.html), /<h3>同步失败 \(1\)<\/h3>/);
    assert.match(String(en.html), /<td>\+91\.55 MB<\/td>/);
    assert.ok(!ctx.logs.join('').includes(SMTP_PASSWORD), 'the SMTP password is never logged');
  });

  it('a refused SMTP login fails with the password scrubbed from the error', async () => {
    const bad = new (await import('../../src/services/email.service.js')).EmailService({
      config: {
        smtpUrl: `smtp://wf:wrong-${SMTP_PASSWORD}@127.0.0.1:${port}`,
        smtpFrom: 'x@example.com',
        digestRecipients: 'ops@example.com',
        digestCron: '0 8 * * *',
        timeZone: 'UTC',
      },
      repo: undefined as never,
      runs: undefined as never,
      clock: { now: () => now },
      logger: ctx.logger,
    });
    await assert.rejects(
      bad.send({ address: 'ops@example.com', lang: 'en' }, { subject: 's', text: 't', html: '<p>t</p>' }),
      (err: Error) => /Invalid login|invalid credentials/i.test(err.message) && !err.message.includes(SMTP_PASSWORD),
    );
    await bad.stop();
  });
});
