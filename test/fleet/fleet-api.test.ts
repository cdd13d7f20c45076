/** The fleet routes over HTTP: import with a file body (preview, refusal, partial), export, list by tag. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';

describe('fleet API', () => {
  let ctx: TestContext;
  let app: TestApp;
  let admin: Caller;
  let viewer: Caller;
  before(async () => {
    ctx = await newTestContext('sqlite');
    ({
      app,
      callers: { admin, viewer },
    } = await newTestApp(ctx));
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });
  const csv =
    'name,db_type,host,port,tags\napi-1,postgresql,10.0.0.1,5432,env:prod;team:a\napi-2,mysql,10.0.0.2,,env:test\napi-3,oracle,10.0.0.3,1521,env:prod\n';
  const post = (url: string, body: string, type: string, who = admin) =>
    app.inject({ method: 'POST', url, headers: { ...who.headers(true), 'content-type': type }, payload: body });

  it('a dry run answers the preview and stores nothing; a refused file is a 400 carrying the report', async () => {
    const dry = await post('/api/instances/import?dry_run=true', csv, 'text/csv');
    assert.equal(dry.statusCode, 200, dry.body);
    const report = dry.json().data;
    assert.deepEqual(
      report.rows.map((r: { row: number; action: string }) => [r.row, r.action]),
      [
        [2, 'create'],
        [3, 'create'],
        [4, 'invalid'],
      ],
    );
    assert.deepEqual(
      report.errors.map((e: { row: number; field: string }) => [e.row, e.field]),
      [[4, 'database_name']],
    );
    assert.equal((await ctx.instances.list()).length, 0);
    const refused = await post('/api/instances/import', csv, 'text/csv; charset=utf-8');
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().error_code, 'import_invalid');
    assert.equal(refused.json().data.errors[0].row, 4);
    assert.equal((await ctx.instances.list()).length, 0);
  });

  it('partial stores the valid rows; a viewer may not import; text/plain needs ?format', async () => {
    assert.equal((await post('/api/instances/import?partial=true', csv, 'text/csv', viewer)).statusCode, 403);
    const r = await post('/api/instances/import?partial=true', csv, 'text/csv');
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().data.created, 2);
    assert.equal((await post('/api/instances/import', csv, 'text/plain')).statusCode, 400);
    const yaml = 'instances:\n  - {name: api-3, db_type: oracle, host: 10.0.0.3, database_name: ORCL, tags: [env:prod]}\n';
    const y = await post('/api/instances/import', yaml, 'application/yaml');
    assert.equal(y.statusCode, 200, y.body);
    assert.equal(y.json().data.created, 1);
    assert.deepEqual(y.json().data.missing, ['api-1', 'api-2']);
  });

  it('export answers the file; the instance list filters by tag', async () => {
    const e = await app.inject({ method: 'GET', url: '/api/instances/export?format=csv&tag=env:prod', headers: viewer.headers(false) });
    assert.equal(e.statusCode, 200);
    assert.match(e.headers['content-type'] as string, /text\/csv/);
    assert.deepEqual(
      e.body
        .split('\r\n')
        .slice(1, -1)
        .map((l) => l.split(',')[0]),
      ['api-1', 'api-3'],
    );
    const l = await app.inject({ method: 'GET', url: '/api/instances?tag=team:a', headers: viewer.headers(false) });
    assert.deepEqual(
      l.json().data.map((i: { name: string }) => i.name),
      ['api-1'],
    );
    const round = await post('/api/instances/import', e.body, 'text/csv');
    assert.deepEqual([round.json().data.created, round.json().data.updated, round.json().data.unchanged], [0, 0, 2]);
  });
});
