/**
 * Issue 23 end to end: two SQL Server replicas of one availability group and
 * a database snapshot, played by two TDS responders answering per-file rows,
 * synced through the HTTP API with the real mssql/tedious driver. The estate
 * summary counts the group's database once (on its primary) and leaves the
 * snapshot out; the databases API says why each row is not in the total.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newTestApp, newTestContext, type Caller, type TestApp, type TestContext } from '../helpers/context.js';
import { type Cell, type Column, type LoginInfo, type Reply, type TdsResponder, startTdsResponder } from '../helpers/tds-responder.js';
import { DigestRepository } from '../../src/store/digest.repository.js';

const PASSWORD = 'Replica-S3cret-库';
const P = 8192;
const col = (name: string, type: Column['type']): Column => ({ name, type });

/** [database_id, name, source_database_id, in_ag, data pages, log pages] */
type Db = [number, string, number | null, 0 | 1, number, number];

/** The group database id of `orders` (sys.databases.group_database_id): the same on every replica. */
const ORDERS_GROUP = 'B6A1F0C2-3D4E-4F50-8A9B-0C1D2E3F4A5B';

/**
 * `role` null: the role DMV is refused (VIEW SERVER STATE missing), so every group database's role is UNKNOWN.
 * `dbs` is read at each query: a test may change it between syncs.
 */
function replica(role: 'PRIMARY' | 'SECONDARY' | null, dbs: Db[], snapshotOnDisk = 0): Promise<TdsResponder> {
  const files = (): Reply => [
    {
      columns: [
        col('database_id', 'int'),
        col('name', 'nvarchar'),
        col('state_desc', 'nvarchar'),
        col('source_database_id', 'int'),
        col('is_distributor', 'bit'),
        col('in_ag', 'int'),
        col('group_database_id', 'nvarchar'),
        col('file_id', 'int'),
        col('type', 'tinyint'),
        col('size_pages', 'bigint'),
        col('max_size', 'int'),
        col('growth', 'int'),
        col('is_sparse', 'bit'),
        col('current_pages', 'bigint'),
      ],
      rows: dbs.flatMap(([id, name, source, inAg, data, log]): Cell[][] => [
        [id, name, 'ONLINE', source, false, inAg, inAg ? ORDERS_GROUP : null, 1, 0, data, -1, 8192, source !== null, null],
        ...(source === null ? [[id, name, 'ONLINE', source, false, inAg, inAg ? ORDERS_GROUP : null, 2, 1, log, -1, 8192, false, null] as Cell[]] : []),
      ]),
    },
  ];
  return startTdsResponder({
    login: (_l: LoginInfo, pw: string) => (pw === PASSWORD ? null : { number: 18456, message: 'Login failed' }),
    handlers: [
      [
        /SERVERPROPERTY\('ProductVersion'\)/,
        [
          {
            columns: [col('version', 'nvarchar'), col('edition', 'nvarchar'), col('engine_edition', 'int'), col('login_name', 'nvarchar')],
            rows: [['16.0.4135.4', 'Enterprise Edition (64-bit)', 3, 'dba']],
          },
        ],
      ],
      [/FROM sys\.databases d\s+LEFT JOIN sys\.master_files f/, files],
      [
        /JOIN sys\.dm_hadr_availability_replica_states rs/,
        role === null
          ? { error: { number: 300, class: 14, message: "VIEW SERVER STATE permission was denied on object 'server', database 'master'." } }
          : () => [
              {
                columns: [col('database_id', 'int'), col('role_desc', 'nvarchar'), col('secondary_allow', 'nvarchar')],
                rows: dbs.filter((d) => d[3] === 1).map((d): Cell[] => [d[0], role, 'NO']),
              },
            ],
      ],
      [
        /FROM sys\.dm_io_virtual_file_stats/,
        () => [
          {
            columns: [col('database_id', 'smallint'), col('file_id', 'smallint'), col('size_on_disk_bytes', 'bigint')],
            rows: dbs.filter((d) => d[2] !== null).map((d): Cell[] => [d[0], 1, snapshotOnDisk]),
          },
        ],
      ],
    ],
  });
}

describe('SQL Server replicas and snapshots in the estate total (HTTP API, real driver)', () => {
  let ctx: TestContext;
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let primary: TdsResponder;
  let secondary: TdsResponder;
  const primaryDbs: Db[] = [
    [1, 'master', null, 0, 512, 128],
    [5, 'orders', null, 1, 1000, 100],
    [6, 'local', null, 0, 2000, 200],
    [7, 'local_snap', 6, 0, 2000, 0],
  ];
  const ids: Record<string, number> = {};
  const admin = () => ({ authorization: `Bearer ${callers.admin.bearer}` });

  before(async () => {
    // The group's database `orders` (1000 + 100 pages) on both replicas; `local` only on the first, with a snapshot of it.
    primary = await replica('PRIMARY', primaryDbs, 65_536);
    secondary = await replica('SECONDARY', [
      [1, 'master', null, 0, 512, 128],
      [5, 'orders', null, 1, 1000, 100],
    ]);
    ctx = await newTestContext('sqlite');
    ({ app, callers } = await newTestApp(ctx));
    const cred = await app.inject({
      method: 'POST',
      url: '/api/credentials',
      headers: admin(),
      payload: { name: 'mssql', db_type: 'sqlserver', username: 'dba', password: PASSWORD },
    });
    assert.equal(cred.statusCode, 201, cred.body);
    for (const [name, server] of [
      ['ag-node-1', primary],
      ['ag-node-2', secondary],
    ] as const) {
      const inst = await app.inject({
        method: 'POST',
        url: '/api/instances',
        headers: admin(),
        payload: { name, db_type: 'sqlserver', host: '127.0.0.1', port: server.port, credential_id: cred.json().data.id, tags: ['ag'] },
      });
      assert.equal(inst.statusCode, 201, inst.body);
      ids[name] = inst.json().data.id;
    }
  });

  after(async () => {
    await app?.close();
    await ctx?.cleanup();
    await primary?.close();
    await secondary?.close();
  });

  it('counts the group database once and the snapshot not at all; every row is kept and labelled', async () => {
    for (const id of Object.values(ids)) {
      const r = await app.inject({ method: 'POST', url: `/database-sizes/instances/${id}/sync-capacity`, headers: callers.operator.headers(true) });
      assert.equal(r.statusCode, 200, r.body);
    }
    const node1 = (512 + 128 + 1000 + 100 + 2000 + 200) * P;
    const node2 = (512 + 128) * P;
    const summary = (await app.inject({ method: 'GET', url: '/api/statistics/summary', headers: admin() })).json().data;
    assert.equal(summary.total_bytes, node1 + node2, 'orders once (primary), local_snap not at all');

    const list = async (id: number) =>
      new Map(
        (
          (await app.inject({ method: 'GET', url: `/api/instances/${id}/databases`, headers: admin() })).json().data.databases as {
            database_name: string;
            size_bytes: number;
            is_snapshot: boolean;
            replica_role: string | null;
          }[]
        ).map((d) => [d.database_name, [d.size_bytes, d.is_snapshot, d.replica_role]]),
      );
    const one = await list(ids['ag-node-1']!);
    const two = await list(ids['ag-node-2']!);
    assert.deepEqual(one.get('orders'), [1100 * P, false, 'PRIMARY']);
    assert.deepEqual(two.get('orders'), [1100 * P, false, 'SECONDARY']);
    assert.deepEqual(one.get('local_snap'), [65_536, true, null], 'the snapshot at its bytes on disk, not its 2000 pages');
    assert.deepEqual(one.get('local'), [2200 * P, false, null]);
  });

  it('snapshots that come and go are not new or deleted databases (changes report, digest, database-disappeared alert); a real drop is', async () => {
    const sync = async () => {
      const r = await app.inject({
        method: 'POST',
        url: `/database-sizes/instances/${ids['ag-node-1']}/sync-capacity`,
        headers: callers.operator.headers(true),
      });
      assert.equal(r.statusCode, 200, r.body);
    };
    primaryDbs.push([8, 'scratch', null, 0, 100, 10]);
    await sync();
    // The nightly snapshot is dropped and taken again under a new name; scratch is dropped for real.
    primaryDbs.splice(
      primaryDbs.findIndex((d) => d[1] === 'local_snap'),
      1,
    );
    primaryDbs.splice(
      primaryDbs.findIndex((d) => d[1] === 'scratch'),
      1,
    );
    primaryDbs.push([9, 'local_snap_2', 6, 0, 2000, 0]);
    await sync();

    const changes = (await app.inject({ method: 'GET', url: '/api/statistics/database-changes', headers: admin() })).json().data;
    const names = (xs: { instance_id: number; database_name: string }[]) =>
      xs
        .filter((x) => x.instance_id === ids['ag-node-1'])
        .map((x) => x.database_name)
        .sort();
    assert.deepEqual(names(changes.new_databases), ['local', 'master', 'orders', 'scratch'], 'no snapshot is a new database');
    assert.deepEqual(names(changes.deleted_databases), ['scratch'], 'a dropped snapshot is not a deleted database');
    assert.deepEqual(
      (await ctx.repos.alerts.deletedDatabases(ids['ag-node-1']!)).map((d) => d.database_name),
      ['scratch'],
    );
    const digest = new DigestRepository(ctx.store.db);
    const yesterday = new Date(Date.now() - 86_400_000);
    const since = yesterday.toISOString();
    assert.deepEqual(
      (await digest.deletedDatabases(since, 50)).filter((d) => d.instance_name === 'ag-node-1').map((d) => d.database_name),
      ['scratch'],
    );
    assert.deepEqual(
      (await digest.newDatabases(since.slice(0, 10), '9999-12-31', 50))
        .filter((d) => d.instance_name === 'ag-node-1')
        .map((d) => d.database_name)
        .sort(),
      ['local', 'orders', 'scratch'],
      'user databases only',
    );
  });
});

for (const store of ['sqlite', 'postgres'] as const)
  describe(`SQL Server replicas whose role cannot be read: the estate counts the largest copy once (HTTP API, real driver, ${store} store)`, () => {
    let ctx: TestContext;
    let app: TestApp;
    let callers: Record<Caller['role'], Caller>;
    const servers: TdsResponder[] = [];
    const ids: number[] = [];
    const admin = () => ({ authorization: `Bearer ${callers.admin.bearer}` });

    before(async () => {
      // `orders` on three replicas, none of which may read the role DMV; the copies differ in size (a log grown on one of them).
      servers.push(
        await replica(null, [
          [1, 'master', null, 0, 512, 128],
          [5, 'orders', null, 1, 1000, 100],
        ]),
        await replica(null, [
          [1, 'master', null, 0, 512, 128],
          [5, 'orders', null, 1, 1000, 300],
        ]),
        await replica(null, [
          [1, 'master', null, 0, 512, 128],
          [5, 'orders', null, 1, 1000, 200],
        ]),
      );
      ctx = await newTestContext(store);
      ({ app, callers } = await newTestApp(ctx));
      const cred = await app.inject({
        method: 'POST',
        url: '/api/credentials',
        headers: admin(),
        payload: { name: 'mssql', db_type: 'sqlserver', username: 'dba', password: PASSWORD },
      });
      for (const [i, server] of servers.entries()) {
        const tags = i === 2 ? ['ag', 'dr'] : ['ag'];
        const inst = await app.inject({
          method: 'POST',
          url: '/api/instances',
          headers: admin(),
          payload: { name: `ag-unknown-${i + 1}`, db_type: 'sqlserver', host: '127.0.0.1', port: server.port, credential_id: cred.json().data.id, tags },
        });
        assert.equal(inst.statusCode, 201, inst.body);
        ids.push(inst.json().data.id);
      }
    });

    after(async () => {
      await app?.close();
      await ctx?.cleanup();
      for (const s of servers) await s.close();
    });

    it('each instance keeps its own copy; the summary counts the largest copy once and says how much it left out', async () => {
      for (const id of ids) {
        const r = await app.inject({ method: 'POST', url: `/database-sizes/instances/${id}/sync-capacity`, headers: callers.operator.headers(true) });
        assert.equal(r.statusCode, 200, r.body);
      }
      const master = (512 + 128) * P;
      const copies = [1100 * P, 1300 * P, 1200 * P];
      for (const [i, id] of ids.entries()) {
        const inst = (await app.inject({ method: 'GET', url: `/api/instances/${id}`, headers: admin() })).json().data;
        assert.equal(inst.total_size_bytes, master + copies[i]!, 'an instance total holds what that server holds');
        const dbs = (await app.inject({ method: 'GET', url: `/api/instances/${id}/databases`, headers: admin() })).json().data.databases as {
          database_name: string;
          replica_role: string | null;
        }[];
        assert.equal(dbs.find((d) => d.database_name === 'orders')?.replica_role, 'UNKNOWN');
      }
      const summary = (await app.inject({ method: 'GET', url: '/api/statistics/summary', headers: admin() })).json().data;
      assert.equal(summary.total_bytes, 3 * master + 1300 * P, 'orders once, at its largest copy');
      assert.deepEqual(summary.replica_copies_excluded, { databases: 1, bytes: (1100 + 1200) * P });
      assert.equal(summary.by_tag.find((g: { tag: string }) => g.tag === 'ag').total_bytes, 3 * master + 1300 * P);
      // Within one tag only the copies in scope are compared: `dr` holds one copy, which is counted.
      const dr = (await app.inject({ method: 'GET', url: '/api/statistics/summary?tag=dr', headers: admin() })).json().data;
      assert.equal(dr.total_bytes, master + 1200 * P);
      assert.deepEqual(dr.replica_copies_excluded, { databases: 0, bytes: 0 });
    });
  });
