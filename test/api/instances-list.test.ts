/**
 * GET /api/instances on both stores: name order, filters (db_type, is_active,
 * an exact, case-sensitive tag), paging with limit/offset and X-Total-Count,
 * and clear 400s for bad paging parameters.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { forEachStore, newTestApp, type TestApp } from '../helpers/context.js';

forEachStore('instance list paging and filters', (get) => {
  let app: TestApp;
  let headers: Record<string, string>;
  const names: string[] = [];
  before(async () => {
    const t = await newTestApp(get());
    app = t.app;
    headers = { authorization: `Bearer ${t.callers.viewer.bearer}` };
    const admin = { authorization: `Bearer ${t.callers.admin.bearer}` };
    for (let i = 0; i < 25; i++) {
      const name = `list-${String(i).padStart(2, '0')}`;
      names.push(name);
      const tags = i % 5 === 0 ? ['env:prod', 'team "a"'] : i % 5 === 1 ? ['Env:prod'] : i % 5 === 2 ? ['env:prod-eu'] : [];
      const res = await app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: admin,
        payload: { name, db_type: i % 2 ? 'mysql' : 'postgresql', host: `h${i}.example`, tags, is_active: i !== 3 },
      });
      assert.equal(res.statusCode, 201, res.body);
    }
  });
  const list = async (qs: string) => {
    const res = await app.inject({ url: `/api/instances${qs}`, headers });
    return {
      status: res.statusCode,
      total: res.headers['x-total-count'],
      names: res.statusCode === 200 ? (res.json().data as { name: string }[]).map((r) => r.name) : [],
      body: res.body,
    };
  };

  it('without limit: every instance in name order, no total header', async () => {
    const r = await list('');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.names, names);
    assert.equal(r.total, undefined);
  });

  it('pages walk the whole list once, in order, with the total on every page', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 30; offset += 10) {
      const r = await list(`?limit=10&offset=${offset}`);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.total, '25');
      seen.push(...r.names);
    }
    assert.deepEqual(seen, names);
    assert.deepEqual((await list('?limit=3')).names, names.slice(0, 3), 'offset defaults to 0');
  });

  it('filters apply before paging, and the total counts the filtered set', async () => {
    const my = await list('?db_type=mysql&limit=5&offset=5');
    assert.equal(my.total, '12');
    assert.deepEqual(my.names, names.filter((_, i) => i % 2).slice(5, 10));
    const inactive = await list('?is_active=false');
    assert.deepEqual(inactive.names, ['list-03']);
  });

  it('tag is exact and case-sensitive: env:prod matches neither Env:prod nor env:prod-eu', async () => {
    assert.deepEqual(
      (await list('?tag=env:prod')).names,
      names.filter((_, i) => i % 5 === 0),
    );
    assert.deepEqual(
      (await list('?tag=Env:prod')).names,
      names.filter((_, i) => i % 5 === 1),
    );
    assert.deepEqual((await list(`?tag=${encodeURIComponent('team "a"')}&limit=2`)).names, ['list-00', 'list-05']);
    assert.deepEqual((await list('?tag=env')).names, []);
    assert.deepEqual((await list('?tag=prod')).names, []);
  });

  it('bad paging parameters are a clear 400', async () => {
    for (const [qs, field] of [
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?limit=x', 'limit'],
      ['?limit=5&offset=-1', 'offset'],
      ['?offset=10', 'offset'],
    ] as const) {
      const r = await list(qs);
      assert.equal(r.status, 400, `${qs}: ${r.body}`);
      assert.match(JSON.parse(r.body).error as string, new RegExp(field), qs);
    }
  });
});
