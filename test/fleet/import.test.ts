/**
 * Fleet import/export on both stores: the acceptance cases (2,000 rows
 * with 3 bad ones, partial, re-import of 10 changes, round trip, YAML = CSV),
 * plus missing rows, dry runs and where errors are reported.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { csvLine } from '../../src/lib/csv.js';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { FLEET_COLUMNS } from '../../src/services/fleet.service.js';
import { forEachStore, newTestContext, type TestContext } from '../helpers/context.js';

interface Item {
  name: string;
  db_type: string;
  host: string;
  port: number | string;
  database_name: string | null;
  credential: string | null;
  is_active: boolean;
  description: string | null;
  tags: string[];
  options: Record<string, unknown>;
}

const TYPES = ['postgresql', 'mysql', 'sqlserver', 'oracle'] as const;

function fleet(n: number): Item[] {
  return Array.from({ length: n }, (_, i) => {
    const db_type = TYPES[i % 4]!;
    return {
      name: `db-${String(i).padStart(5, '0')}`,
      db_type,
      host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 5000 + (i % 1000),
      database_name: db_type === 'oracle' ? `ORCL${i}` : null,
      credential: i % 3 === 0 ? null : 'shared',
      is_active: i % 7 !== 0,
      description: i % 5 === 0 ? `机房 ${i}, "rack" A` : null,
      tags: [`env:${i % 2 ? 'prod' : 'test'}`, `team:t${i % 10}`],
      options: i % 11 === 0 ? { connect_timeout_ms: 3000 } : {},
    };
  });
}

function toCsv(items: Item[]): string {
  return (
    csvLine(FLEET_COLUMNS) +
    items
      .map((it) =>
        csvLine([
          it.name,
          it.db_type,
          it.host,
          it.port,
          it.database_name,
          it.credential,
          it.is_active,
          it.description,
          it.tags.join(';'),
          Object.keys(it.options).length ? JSON.stringify(it.options) : '',
        ]),
      )
      .join('')
  );
}

const toYaml = (items: Item[]) => stringify({ instances: items });

async function withCredential(ctx: TestContext): Promise<number> {
  return (await ctx.credentials.create({ name: 'shared', username: 'whalefall', password: 'S3cret-pw' }, CLI_ACTOR)).id;
}

forEachStore('fleet import', (get) => {
  let credentialId: number;
  before(async () => {
    credentialId = await withCredential(get());
  });

  it('2,000 rows with 3 bad ones: each reported with row and column, nothing stored', async () => {
    const items = fleet(2000);
    items[99]!.port = 70000; // CSV row 101
    items[500]!.db_type = 'mongodb'; // row 502
    items[1498]!.credential = 'nope'; // row 1500
    const r = await get().fleet.import(toCsv(items), { format: 'csv' }, CLI_ACTOR);
    assert.equal(r.applied, false);
    assert.equal(r.total_rows, 2000);
    assert.equal(r.invalid_rows, 3);
    assert.deepEqual(
      r.errors.map((e) => ({ row: e.row, line: e.line, column: e.column, field: e.field })),
      [
        { row: 101, line: 101, column: 4, field: 'port' },
        { row: 502, line: 502, column: 2, field: 'db_type' },
        { row: 1500, line: 1500, column: 6, field: 'credential' },
      ],
    );
    assert.match(r.errors[0]!.message, /1 to 65535/);
    assert.match(r.errors[2]!.message, /unknown credential name/);
    assert.ok(!r.errors[2]!.message.includes('nope'), 'the cell is not echoed (it may be a mistyped password)');
    assert.equal(r.rows.filter((x) => x.action === 'invalid').length, 3);
    assert.equal((await get().instances.list()).length, 0);
  });

  it('the same file with partial: the 1,997 valid rows stored, the 3 bad ones reported', async () => {
    const items = fleet(2000);
    items[99]!.port = 70000;
    items[500]!.db_type = 'mongodb';
    items[1498]!.credential = 'nope';
    const r = await get().fleet.import(toCsv(items), { format: 'csv', partial: true }, CLI_ACTOR);
    assert.equal(r.applied, true);
    assert.equal(r.created, 1997);
    assert.deepEqual(
      r.errors.map((e) => e.row),
      [101, 502, 1500],
    );
    const list = await get().instances.list();
    assert.equal(list.length, 1997);
    assert.ok(!list.some((i) => ['db-00099', 'db-00500', 'db-01498'].includes(i.name)));
    const one = list.find((i) => i.name === 'db-00001')!;
    assert.deepEqual(
      [one.db_type, one.host, one.port, one.credential_id, one.is_active, one.tags],
      ['mysql', '10.0.0.1', 5001, credentialId, true, ['env:prod', 'team:t1']],
    );
    const audit = (await get().audit.list(5, 0)).find((a) => a.action === 'instance.import')!;
    assert.equal((JSON.parse(audit.details!) as { created: string[] }).created.length, 1997);
  });

  it('re-import of the full file changing 10 rows: 3 new (the ones fixed), 10 updates, the rest unchanged', async () => {
    const items = fleet(2000);
    for (let i = 0; i < 10; i++) items[i * 150 + 1]!.host = `changed-${i}.example`;
    const r = await get().fleet.import(toCsv(items), { format: 'csv' }, CLI_ACTOR);
    assert.equal(r.applied, true);
    assert.equal(r.created, 3); // the three rows refused by the previous test
    assert.equal(r.updated, 10);
    assert.equal(r.unchanged, 1987);
    assert.ok(r.rows.filter((x) => x.action === 'update').every((x) => x.changes!.join() === 'host'));
    assert.equal((await get().instances.getByName('db-00151')).host, 'changed-1.example');
    assert.equal((await get().instances.list()).length, 2000);
    // Once more: 10 further changes, 0 new.
    for (let i = 0; i < 10; i++) items[i * 150 + 2]!.tags = ['env:moved'];
    const again = await get().fleet.import(toCsv(items), { format: 'csv' }, CLI_ACTOR);
    assert.deepEqual([again.created, again.updated, again.unchanged], [0, 10, 1990]);
    assert.equal((await get().instances.list()).length, 2000);
  });

  it('export → import is a no-op and rebuilds the same registry in an empty store (CSV and YAML)', async () => {
    const ctx = get();
    // Values that stress the formats: formula-looking text, separators, quotes, IPv6, options.
    await ctx.instances.create(
      {
        name: '=cmd|calc',
        db_type: 'postgresql',
        host: '::1',
        description: '-1+2 "quoted", with comma',
        tags: ['a;b', '[x]', "'=quote"],
        options: { exclude: ['tmp_%', '=x'], connect_timeout_ms: 1500 },
        is_active: false,
      },
      CLI_ACTOR,
    );
    await ctx.instances.create({ name: "'-leading", db_type: 'mysql', host: 'h', tags: ['@at', 'x'], description: "'@" }, CLI_ACTOR);
    for (const format of ['csv', 'yaml'] as const) {
      const file = await ctx.fleet.export(format);
      const same = await ctx.fleet.import(file, { format }, CLI_ACTOR);
      assert.deepEqual([same.errors, same.created, same.updated, same.missing], [[], 0, 0, []], format);
      const fresh = await newTestContext();
      try {
        await withCredential(fresh);
        const r = await fresh.fleet.import(file, { format }, CLI_ACTOR);
        assert.deepEqual([r.errors, r.created], [[], 2002], format);
        assert.equal(await fresh.fleet.export(format), file, format);
        const strip = (l: { id: number; credential_id: number | null; created_at: string; updated_at: string }[]) =>
          l.map(({ id: _i, credential_id: _c, created_at: _a, updated_at: _u, ...rest }) => rest);
        assert.deepEqual(strip(await fresh.instances.list()), strip(await ctx.instances.list()), format);
      } finally {
        await fresh.cleanup();
      }
    }
    const csv = await ctx.fleet.export('csv');
    assert.ok(!/S3cret/.test(csv) && !/S3cret/.test(await ctx.fleet.export('yaml')));
  });

  it('rows missing from the source are reported, and disabled only when asked', async () => {
    const ctx = get();
    const file = toCsv(fleet(2000).slice(0, 1990));
    const r = await ctx.fleet.import(file, { format: 'csv' }, CLI_ACTOR);
    assert.equal(r.missing.length, 12); // 10 dropped + the 2 added by the round-trip test
    assert.deepEqual(r.disabled, []);
    assert.equal((await ctx.instances.getByName('db-01996')).is_active, true);
    const dry = await ctx.fleet.import(file, { format: 'csv', disableMissing: true, dryRun: true }, CLI_ACTOR);
    assert.equal(dry.applied, false);
    assert.equal((await ctx.instances.getByName('db-01996')).is_active, true);
    const d = await ctx.fleet.import(file, { format: 'csv', disableMissing: true }, CLI_ACTOR);
    assert.ok(d.disabled.includes('db-01996'));
    assert.ok(!d.disabled.includes('db-01989'));
    assert.equal((await ctx.instances.getByName('db-01996')).is_active, false);
    assert.equal((await ctx.instances.list()).length, 2002, 'disabled, never deleted');
  });
});

describe('fleet import: YAML and CSV give the same registry; errors located in the file', () => {
  let a: TestContext;
  let b: TestContext;
  before(async () => {
    a = await newTestContext();
    b = await newTestContext();
    await withCredential(a);
    await withCredential(b);
  });
  after(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  it('the same 300 instances from CSV and from YAML', async () => {
    const items = fleet(300);
    const rc = await a.fleet.import(toCsv(items), { format: 'csv' }, CLI_ACTOR);
    const ry = await b.fleet.import(toYaml(items), { format: 'yaml' }, CLI_ACTOR);
    assert.deepEqual([rc.errors, rc.created, ry.errors, ry.created], [[], 300, [], 300]);
    const strip = (l: { id: number; created_at: string; updated_at: string }[]) => l.map(({ id: _i, created_at: _a, updated_at: _u, ...rest }) => rest);
    assert.deepEqual(strip(await b.instances.list()), strip(await a.instances.list()));
    assert.equal(await b.fleet.export('csv'), await a.fleet.export('csv'));
  });

  it('YAML errors carry the item, line and column; syntax errors refuse the file', async () => {
    const text = [
      'instances:',
      '  - name: ok-1',
      '    db_type: mysql',
      '    host: h1',
      '  - name: bad',
      '    db_type: mysql',
      '    host: "bad host"',
      '    port: 0',
      '    colour: red',
      '',
    ].join('\n');
    const r = await b.fleet.import(text, { format: 'yaml', dryRun: true }, CLI_ACTOR);
    assert.deepEqual(
      r.errors.map((e) => [e.row, e.line, e.column, e.field]),
      [
        [2, 9, 13, 'colour'],
        [2, 7, 11, 'host'],
        [2, 8, 11, 'port'],
      ],
    );
    const empty = await b.fleet.import(
      '- name: e1\n  db_type: mysql\n  host: h\n  tags:\n  options:\n  is_active:\n  port:\n',
      { format: 'yaml', dryRun: true },
      CLI_ACTOR,
    );
    assert.deepEqual([empty.errors, empty.created], [[], 1], 'empty keys take the defaults, as empty CSV cells do');
    const bad = await b.fleet.import('instances:\n  - name: [unclosed\n', { format: 'yaml' }, CLI_ACTOR);
    assert.equal(bad.applied, false);
    assert.equal(bad.errors.length > 0 && bad.errors[0]!.line > 1, true);
  });

  it('CSV header and cell problems: unknown/missing columns, wrong cell count, duplicate names, bad booleans, unterminated quotes', async () => {
    const r1 = await b.fleet.import('name,db_type,colour\nx,mysql,red\n', { format: 'csv', partial: true }, CLI_ACTOR);
    assert.equal(r1.applied, false, 'a header problem refuses the file even with partial');
    assert.deepEqual(
      r1.errors.map((e) => [e.row, e.column, e.field]),
      [
        [1, 3, 'colour'],
        [1, null, 'host'],
        [2, null, 'host'],
      ],
    );
    const r2 = await b.fleet.import('name,db_type,host,is_active\nd1,mysql,h,maybe\nd1,mysql,h,yes\nd2,mysql\n', { format: 'csv', dryRun: true }, CLI_ACTOR);
    assert.deepEqual(
      r2.errors.map((e) => [e.row, e.column, e.field]),
      [
        [2, 4, 'is_active'],
        [3, 1, 'name'],
        [4, null, ''],
        [4, null, 'host'],
      ],
    );
    const r3 = await b.fleet.import('name,db_type,host\nd1,mysql,h\nd1,mysql,h2\n', { format: 'csv', dryRun: true }, CLI_ACTOR);
    assert.deepEqual(
      r3.errors.map((e) => [e.row, e.column, e.field]),
      [[3, 1, 'name']],
    );
    assert.match(r3.errors[0]!.message, /duplicate of row 2/);
    const r4 = await b.fleet.import('name,db_type,host\n"d1,mysql,h\n', { format: 'csv' }, CLI_ACTOR);
    assert.deepEqual(
      r4.errors.map((e) => [e.line, e.message]),
      [[2, '引号未闭合 (unterminated quoted field)']],
    );
  });

  it("a row changing a synced instance's db_type is an error (another engine is another instance); before the first sync it is a correction", async () => {
    const [pg, my] = [await a.instances.getByName('db-00000'), await a.instances.getByName('db-00001')];
    assert.deepEqual([pg.db_type, my.db_type], ['postgresql', 'mysql']);
    await a.store.db.updateTable('instances').set({ last_sync_at: new Date().toISOString() }).where('id', '=', pg.id).execute();
    const file = `name,db_type,host,port\n${pg.name},mysql,${pg.host},${pg.port}\n${my.name},mariadb,${my.host},${my.port}\n`;
    const r = await a.fleet.import(file, { format: 'csv', dryRun: true }, CLI_ACTOR);
    assert.deepEqual(
      r.errors.map((e) => [e.row, e.field]),
      [[2, 'db_type']],
    );
    assert.match(r.errors[0]!.message, /register a new instance/);
    assert.deepEqual(
      r.rows.map((x) => x.action),
      ['invalid', 'update'],
    );
    const real = await a.fleet.import(file, { format: 'csv', partial: true }, CLI_ACTOR);
    assert.equal(real.updated, 1);
    assert.deepEqual([(await a.instances.getByName(pg.name)).db_type, (await a.instances.getByName(my.name)).db_type], ['postgresql', 'mariadb']);
  });
});
