/**
 * Signed robot deliveries, checked by a receiver that verifies the signature
 * with the robots' documented algorithm (test/alerts/robots/receiver.py, the
 * documentation's own Python): DingTalk 加签 in the query (timestamp in ms),
 * Feishu in the body (timestamp in s, HMAC keyed by timestamp + "\n" +
 * secret over an empty message), text and interactive card. A wrong secret is
 * a permanent error: the delivery fails at the first attempt with the
 * robot's own message. The secret is never returned, stored in clear or logged.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { addInstance, setInstanceTotal } from './helpers.js';

const DING_SECRET = 'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd+/=';
const FEISHU_SECRET = 'fs-Secret/+=42';
const GB = 1024 ** 3;
const today = new Date().toISOString().slice(0, 10);

interface Got {
  path: string;
  body: Record<string, unknown>;
  verified: boolean;
}

describe('signed DingTalk and Feishu deliveries, verified as the robots do', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  let rx: ChildProcess;
  let base = '';
  const got: Got[] = [];

  before(async () => {
    ctx = await newTestContext('sqlite');
    ({
      app,
      callers: { admin },
    } = await newTestApp(ctx));
    rx = spawn('python3', [path.join(import.meta.dirname, 'robots/receiver.py'), DING_SECRET, FEISHU_SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: rx.stdout! });
    base = await new Promise<string>((resolve) => {
      lines.once('line', (port) => resolve(`http://127.0.0.1:${port.trim()}`));
    });
    lines.on('line', (l) => got.push(JSON.parse(l) as Got));
  });
  after(async () => {
    rx?.kill('SIGTERM');
    await app?.close();
    await ctx?.cleanup();
  });

  const h = () => admin.headers(true);
  async function waitFor(n: number) {
    const end = Date.now() + 10_000;
    while (got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.ok(got.length >= n, `${got.length} requests received, expected ${n}`);
  }

  it('firing and resolved messages arrive signed; a wrong secret fails at once with the robot message', async () => {
    const inst = await addInstance(ctx);
    const channels = [
      { type: 'dingtalk', url: `${base}/dingtalk?access_token=DING-TOKEN-1`, secret: DING_SECRET },
      { type: 'feishu', url: `${base}/open-apis/bot/v2/hook/feishu-text`, secret: FEISHU_SECRET },
      { type: 'feishu_card', url: `${base}/open-apis/bot/v2/hook/feishu-card`, secret: FEISHU_SECRET },
      { type: 'feishu', url: `${base}/open-apis/bot/v2/hook/feishu-wrong`, secret: 'not-the-secret' },
    ];
    const created = await app.inject({
      method: 'POST',
      url: '/api/alert-rules',
      headers: h(),
      payload: { name: 'signed', kind: 'size_above', instance_id: inst.id, threshold: 10 * GB, channels },
    });
    assert.equal(created.statusCode, 201, created.body);
    const rule = created.json().data;
    assert.deepEqual(
      rule.channels.map((c: { has_secret: boolean }) => c.has_secret),
      [true, true, true, true],
    );
    for (const s of [DING_SECRET, FEISHU_SECRET, 'not-the-secret']) {
      assert.ok(!created.body.includes(s), 'secret never returned');
      const row = await ctx.store.db.selectFrom('alert_rules').select('channels').where('id', '=', rule.id).executeTakeFirstOrThrow();
      assert.ok(!row.channels.includes(s), 'secret stored encrypted');
    }

    await setInstanceTotal(ctx, inst.id, today, 12 * GB);
    assert.equal((await ctx.alerts.evaluate()).fired, 1);
    await ctx.alertDelivery.deliverDue();
    await waitFor(4);
    const byPath = new Map(got.map((g) => [g.path, g]));
    assert.equal(byPath.get('/dingtalk')?.verified, true, 'DingTalk signature verified');
    assert.equal((byPath.get('/dingtalk')!.body as { msgtype: string }).msgtype, 'markdown');
    const text = byPath.get('/open-apis/bot/v2/hook/feishu-text')!;
    assert.equal(text.verified, true, 'Feishu text signature verified');
    assert.equal(text.body.msg_type, 'text');
    const card = byPath.get('/open-apis/bot/v2/hook/feishu-card')!;
    assert.equal(card.verified, true, 'Feishu card signature verified');
    assert.equal(card.body.msg_type, 'interactive');
    assert.equal(byPath.get('/open-apis/bot/v2/hook/feishu-wrong')?.verified, false);

    const [ev] = (await ctx.alerts.listEvents({ rule_id: rule.id, limit: 10 })).items;
    const detail = await app.inject({ method: 'GET', url: `/api/alerts/${ev!.id}`, headers: h() });
    const deliveries = detail.json().data.deliveries as { status: string; attempt: number; error: string | null }[];
    const failed = deliveries.filter((d) => d.status === 'failed');
    assert.equal(failed.length, 1, JSON.stringify(deliveries));
    assert.equal(failed[0]!.attempt, 1, 'a permanent error is not retried');
    assert.match(failed[0]!.error!, /^code 19021: sign match fail/);
    assert.equal(deliveries.filter((d) => d.status === 'delivered').length, 3);

    // Resolved: what recovered and the value now.
    await setInstanceTotal(ctx, inst.id, today, 8 * GB);
    assert.equal((await ctx.alerts.evaluate()).resolved, 1);
    await ctx.alertDelivery.deliverDue();
    await waitFor(8);
    const resolvedText = got.slice(4).find((g) => g.path.endsWith('feishu-text'))!;
    assert.equal(resolvedText.verified, true);
    const content = (resolvedText.body.content as { text: string }).text;
    assert.match(content, /已恢复 \(recovered\)/);
    assert.match(content, /当前值 \(current value\): 8\.00 GiB/);
    for (const s of [DING_SECRET, FEISHU_SECRET, 'not-the-secret']) assert.ok(!ctx.logs.join('').includes(s), 'secret never logged');
  });
});
