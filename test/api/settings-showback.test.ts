/**
 * PATCH /api/settings takes the monthly report's showback rate and currency
 * (the settings page's 月度报告 / Monthly report tab sends them): valid values
 * stored, null back to the default, out-of-range or malformed values refused
 * with a message in both languages and nothing stored. And the other fields
 * the settings page edits (sync_points_days was refused by the body schema).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

describe('settings API: showback rate and currency', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  before(async () => {
    ctx = await newTestContext('sqlite');
    const t = await newTestApp(ctx);
    app = t.app;
    admin = t.callers.admin;
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });
  const patch = (payload: Record<string, unknown>) => app.inject({ method: 'PATCH', url: '/api/settings', headers: admin.headers(true), payload });

  it('stores a rate and a currency, and null resets them', async () => {
    const res = await patch({ showback_rate_per_gb_month: 0.35, showback_currency: 'USD' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual([res.json().data.settings.showback_rate_per_gb_month, res.json().data.settings.showback_currency], [0.35, 'USD']);
    const e = await ctx.settings.effective();
    assert.deepEqual([e.showback_rate_per_gb_month, e.showback_currency], [0.35, 'USD']);
    assert.equal((await patch({ showback_rate_per_gb_month: null, showback_currency: null })).statusCode, 200);
    const d = await ctx.settings.effective();
    assert.deepEqual([d.showback_rate_per_gb_month, d.showback_currency], [0, 'CNY']);
  });

  it('refuses a negative or huge rate, a non-number and a bad currency, in both languages, storing nothing', async () => {
    await patch({ showback_rate_per_gb_month: 2, showback_currency: 'EUR' });
    for (const [body, field] of [
      [{ showback_rate_per_gb_month: -1 }, 'showback_rate_per_gb_month'],
      [{ showback_rate_per_gb_month: 1_000_001 }, 'showback_rate_per_gb_month'],
      [{ showback_rate_per_gb_month: 'abc' }, 'showback_rate_per_gb_month'],
      [{ showback_currency: '12' }, 'showback_currency'],
      [{ showback_currency: 'CNY', showback_rate_per_gb_month: -5 }, 'showback_rate_per_gb_month'],
    ] as const) {
      const res = await patch(body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      const error = String(res.json().error);
      assert.match(error, new RegExp(field), error);
      assert.match(error, /[\u4e00-\u9fff]/, `Chinese in: ${error}`);
      assert.match(error, /[a-z]{4,} /, `English in: ${error}`);
    }
    const e = await ctx.settings.effective();
    assert.deepEqual([e.showback_rate_per_gb_month, e.showback_currency], [2, 'EUR']);
  });

  it("takes sync_points_days (the settings page's per-sync series days), validated by the service, null back to the default", async () => {
    const res = await patch({ sync_points_days: 40 });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await ctx.settings.effective()).sync_points_days, 40);
    assert.equal((await patch({ sync_points_days: 0 })).statusCode, 400);
    assert.equal((await patch({ sync_points_days: null })).statusCode, 200);
    assert.equal((await ctx.settings.effective()).sync_points_days, ctx.settings.defaults().sync_points_days);
  });
});
