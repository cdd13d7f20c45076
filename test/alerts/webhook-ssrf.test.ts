/**
 * Webhooks cannot be used to read the network behind Whalefall (issue 17, finding 4): redirects are not
 * followed, a receiver's answer is never shown to viewers (status only; admins get a short excerpt),
 * link-local and metadata addresses are refused without a request, and operators can allow or deny networks.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { DestinationPolicy } from '../../src/lib/net-policy.js';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { addInstance, setInstanceTotal } from './helpers.js';

const GB = 1024 ** 3;
const INTERNAL_SECRET = 'internal-service-answer-7731';

/** An HTTP server counting hits; `answer` decides each response. */
async function server(answer: (res: http.ServerResponse) => void) {
  const hits: string[] = [];
  const s = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits, close: () => new Promise<void>((r) => s.close(() => r())) };
}

describe('webhook SSRF', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  before(async () => {
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_WEBHOOK_DENY_NETWORKS: '10.66.0.0/16' } });
    ({ app, callers } = await newTestApp(ctx));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  /** Fire one rule with `url` as its channel, deliver once, return the event id. */
  async function fireTo(url: string): Promise<number> {
    const inst = await addInstance(ctx);
    const rule = await ctx.alerts.createRule(
      { name: `r-${inst.id}`, kind: 'size_above', instance_id: inst.id, threshold: GB, channels: [{ type: 'generic', url }] },
      CLI_ACTOR,
    );
    await setInstanceTotal(ctx, inst.id, new Date().toISOString().slice(0, 10), 2 * GB);
    await ctx.alerts.evaluate();
    await ctx.alertDelivery.deliverDue();
    const events = await ctx.alerts.listEvents({});
    return events.items.find((e) => e.rule_id === rule.id)!.id;
  }
  const view = async (id: number, role: 'viewer' | 'admin') => {
    const res = await app.inject({ method: 'GET', url: `/api/alerts/${id}`, headers: { authorization: `Bearer ${callers[role].bearer}` } });
    assert.equal(res.statusCode, 200, res.body);
    return res.body;
  };

  it('a receiver answering 302 is hit once; the redirect target never; viewers see the status only', async () => {
    const internal = await server((res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(INTERNAL_SECRET));
    const redirector = await server((res) => res.writeHead(302, { location: `${internal.url}/admin` }).end());
    try {
      const id = await fireTo(`${redirector.url}/hook`);
      assert.equal(redirector.hits.length, 1);
      assert.equal(internal.hits.length, 0, 'the redirect was followed');
      const viewer = JSON.parse(await view(id, 'viewer')) as { data: { deliveries: { http_status: number; error: string; log: { error: string }[] }[] } };
      const d = viewer.data.deliveries[0]!;
      assert.equal(d.http_status, 302);
      assert.equal(d.error, 'HTTP 302');
      assert.ok(d.log.every((a) => a.error === 'HTTP 302'));
      assert.match(await view(id, 'admin'), /redirects are not followed/);
    } finally {
      await internal.close();
      await redirector.close();
    }
  });

  it("a refusing receiver's body: never to viewers, a short excerpt to admins", async () => {
    const talker = await server((res) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${INTERNAL_SECRET} ${'x'.repeat(5000)}`));
    try {
      const id = await fireTo(`${talker.url}/hook`);
      assert.ok(!(await view(id, 'viewer')).includes(INTERNAL_SECRET));
      const admin = await view(id, 'admin');
      assert.ok(admin.includes(INTERNAL_SECRET));
      const err = (JSON.parse(admin) as { data: { deliveries: { error: string }[] } }).data.deliveries[0]!.error;
      assert.ok(err.length <= 140, `${err.length} characters kept`);
    } finally {
      await talker.close();
    }
  });

  it('link-local (metadata) and configured denied networks are refused without a request', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/x', 'http://[::ffff:169.254.169.254]/x', 'http://10.66.1.2/x']) {
      const id = await fireTo(url);
      const admin = await view(id, 'admin');
      assert.match(admin, /denied network/, `${url}: ${admin.slice(0, 800)}`);
      const d = (JSON.parse(await view(id, 'viewer')) as { data: { deliveries: { error: string }[] } }).data.deliveries[0]!;
      assert.equal(d.error, '投递失败，详情仅管理员可见 (delivery failed; details for admins only)', url);
    }
    // an allow list keeps everything else out
    const only = new DestinationPolicy({ allow: ['192.168.7.0/24'], deny: [] });
    assert.equal(only.refusal('192.168.7.9'), undefined);
    assert.match(only.refusal('127.0.0.1') ?? '', /not in an allowed network/);
    assert.match(only.refusal('169.254.169.254') ?? '', /denied/);
  });
});
