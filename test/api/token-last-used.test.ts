import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TOKEN_TOUCH_MS } from '../../src/services/auth.service.js';
import { newTestContext, type TestContext } from '../helpers/context.js';

// A bearer request reads; it writes the token's last_used_at only when that is a minute old.
let ctx: TestContext;
let at = Date.parse('2026-03-01T10:00:00Z');
before(async () => {
  ctx = await newTestContext('sqlite', { clock: { now: () => new Date(at) } });
});
after(async () => ctx?.cleanup());

test('last_used_at is written on first use, then at most once per TOKEN_TOUCH_MS', async () => {
  const admin = await ctx.auth.createUser({ username: 'tok', password: 'pw-Secret-123', role: 'admin' }, { userId: null, username: 'test' });
  const { token, id } = await ctx.auth.createToken(admin.id, { name: 'script' }, { userId: null, username: 'test' });
  const lastUsed = async () => (await ctx.auth.listTokens()).find((t) => t.id === id)!.last_used_at;
  assert.equal(await lastUsed(), null);

  assert.ok(await ctx.auth.fromBearer(token));
  assert.equal(await lastUsed(), new Date(at).toISOString(), 'first use is recorded');
  const first = at;

  at += TOKEN_TOUCH_MS - 1000;
  assert.ok(await ctx.auth.fromBearer(token));
  assert.equal(await lastUsed(), new Date(first).toISOString(), 'a use within the minute does not write');

  at += 1000;
  assert.ok(await ctx.auth.fromBearer(token));
  assert.equal(await lastUsed(), new Date(at).toISOString(), 'a use a minute later writes again');

  assert.equal(await ctx.auth.fromBearer(`${token}x`), undefined, 'a wrong token is still refused');
});
