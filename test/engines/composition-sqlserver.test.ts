/**
 * SQL Server composition (issue #21 item 2): the arithmetic on fixed facts,
 * then end to end through the real mssql/tedious driver against the TDS
 * responder answering sys.master_files ⋈ sys.databases, each database's
 * FILEPROPERTY / sys.dm_db_log_space_usage, sys.databases.log_reuse_wait_desc
 * and sys.dm_os_volume_stats in the catalog views' own column types (INT,
 * TINYINT, BIGINT, NVARCHAR). A login without VIEW SERVER STATE gets the
 * split parts and the ceiling null with the reason and the grant, never 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Composition, CompositionPart } from '../../src/domain/composition.js';
import type { FileRow } from '../../src/engines/sqlserver/sqlserver.aggregate.js';
import { sqlserverComposition, usedSpaceTargets, volumeCeiling } from '../../src/engines/sqlserver/sqlserver.composition.js';
import { sqlserverEngine as engine } from '../../src/engines/sqlserver/sqlserver.engine.js';
import { acceptPassword, col, type Db, FILES, identity, masterFiles, target, USED } from '../helpers/sqlserver-server.js';
import { startTdsResponder, type LoginInfo, type Reply, type TdsResponder } from '../helpers/tds-responder.js';

const P = 8192;
const GiB = 1024 ** 3;
const part = (c: Pick<Composition, 'parts'>, kind: string): CompositionPart => {
  const p = c.parts.find((x) => x.kind === kind);
  assert.ok(p, `part ${kind}`);
  return p;
};

const DBS: Db[] = [
  { id: 1, name: 'master', data: 512n, log: 256n },
  { id: 2, name: 'tempdb', data: 1024n, log: 64n }, // grown since start-up: 131,072 + 8,192 pages now
  { id: 5, name: 'sales', data: 128_000n, log: 32_000n },
  { id: 6, name: "hr it's 库", data: 300n, log: 100n },
  { id: 7, name: 'locked', data: 4096n, log: 1024n },
  { id: 8, name: 'archive', state: 'OFFLINE', data: 10_000n, log: 2000n },
  { id: 9, name: 'sales_snap', data: 128_000n, log: 0n, source: 5 },
];
/** Per database: used data pages, used log bytes, log_reuse_wait_desc. */
const USED_SPACE: Record<string, [bigint, bigint, string]> = {
  master: [400n, 100n * 8192n, 'NOTHING'],
  sales: [64_000n, 10n * 1024n * 1024n, 'LOG_BACKUP'],
  "hr it's 库": [300n, 100n * 8192n, 'NOTHING'],
};
const VOLUMES: [string, bigint, bigint][] = [
  ['C:\\', 500n * 1024n ** 3n, 200n * 1024n ** 3n],
  ['D:\\', 1024n ** 4n, 600n * 1024n ** 3n],
];
const DENIED = { number: 300, class: 14, message: "VIEW SERVER STATE permission was denied on object 'server', database 'master'." };

function used(_sql: string, m: RegExpExecArray, login: LoginInfo): Reply {
  const name = (m[1] ?? '').replaceAll(']]', ']');
  if (name === 'locked')
    return {
      error: {
        number: 916,
        class: 14,
        message: `The server principal "${login.user}" is not able to access the database "${name}" under the current security context.`,
      },
    };
  if (login.user === 'nostate') return { error: DENIED };
  const u = USED_SPACE[name];
  if (!u) return { error: { number: 911, message: `Database '${name}' does not exist.` } };
  return [{ columns: [col('data_used_pages', 'bigint'), col('log_used_bytes', 'bigint')], rows: [[u[0], u[1]]] }];
}

const EXPECTED = {
  data_used: (400 + 64_000 + 300) * P,
  data_unused: (112 + 64_000 + 0) * P,
  log_used: 100 * P + 10 * 1024 * 1024 + 100 * P,
  log_unused: 156 * P + (32_000 * P - 10 * 1024 * 1024) + 0,
  allocated_unsplit: (4096 + 1024 + 10_000 + 2000) * P,
  tempdb: (131_072 + 8192) * P,
};

describe('SQL Server composition arithmetic (pure)', () => {
  const row = (over: Partial<FileRow>): FileRow => ({
    database_id: 5,
    name: 'sales',
    state_desc: 'ONLINE',
    source_database_id: null,
    is_distributor: false,
    in_ag: 0,
    file_id: 1,
    type: 0,
    size_pages: '1000',
    max_size: -1,
    growth: 8192,
    is_sparse: false,
    current_pages: null,
    ...over,
  });
  const files = [
    row({}),
    row({ file_id: 2, type: 1, size_pages: '200' }),
    row({ database_id: 2, name: 'tempdb', size_pages: '10', current_pages: '50' }),
    row({ database_id: 9, name: 'snap', source_database_id: 5 }),
  ];

  it('splits allocated files by used space, keeps tempdb at its current size, leaves snapshots out, and never lets used exceed allocated', () => {
    assert.deepEqual(usedSpaceTargets(files), ['sales']);
    const c = sqlserverComposition({
      files,
      used: new Map([['sales', { data_used_pages: '1200', log_used_bytes: String(50 * P) }]]),
      reuse: [{ name: 'sales', log_reuse_wait_desc: 'ACTIVE_TRANSACTION' }],
      volumes: [],
      login: 'dba',
    });
    assert.deepEqual(
      c.parts.map((p) => [p.kind, p.bytes]),
      [
        ['data_used', 1000 * P],
        ['data_unused', 0],
        ['log_used', 50 * P],
        ['log_unused', 150 * P],
        ['allocated_unsplit', 0],
        ['tempdb', 50 * P],
      ],
    );
    assert.deepEqual(part(c, 'log_used').detail!.waiting, [{ database: 'sales', log_reuse_wait_desc: 'ACTIVE_TRANSACTION' }]);
    assert.equal(c.ceiling_bytes, null);
    assert.match(String(c.ceiling_detail!.reason), /no volume/);
  });

  it('every database refused: the split parts are null with the reason, the allocated bytes are still counted', () => {
    const c = sqlserverComposition({
      files,
      used: new Map([['sales', { error: 'no VIEW SERVER STATE' }]]),
      reuse: { error: 'x' },
      volumes: { error: 'denied' },
      login: 'dba',
    });
    for (const k of ['data_used', 'data_unused', 'log_used', 'log_unused'])
      assert.deepEqual([part(c, k).bytes, part(c, k).reason], [null, 'no VIEW SERVER STATE'], k);
    assert.equal(part(c, 'allocated_unsplit').bytes, 1200 * P);
    // A refusal without a key of its own is the server's words, under the pass-through key.
    assert.deepEqual(c.ceiling_detail, { reason: 'denied', reason_msg: { key: 'composition.reason.text', params: { text: 'denied' } } });
  });

  it('no file visible (no VIEW ANY DEFINITION): every part null, the GRANT named', () => {
    const hidden = [row({ file_id: null, type: null, size_pages: null })];
    const c = sqlserverComposition({ files: hidden, used: new Map(), reuse: [], volumes: { error: 'denied' }, login: 'CORP\\c' });
    assert.ok(c.parts.every((p) => p.bytes === null && /GRANT VIEW ANY DEFINITION TO \[CORP\\c\]/.test(p.reason!)));
    assert.ok(c.parts.every((p) => p.reason_msg?.key === 'composition.reason.mssql_no_files'));
    assert.equal(
      c.parts[0]!.reason,
      'sys.master_files 中看不到任何文件 (no file visible): GRANT VIEW ANY DEFINITION TO [CORP\\c];',
      'zh-CN as before the keys',
    );
  });

  it('the volume ceiling: Σ total, Σ (total − free) in use', () => {
    const v = volumeCeiling([
      { volume_mount_point: null, total_bytes: '1000', available_bytes: '400' },
      { volume_mount_point: null, total_bytes: '3000', available_bytes: 1000 },
    ]);
    assert.deepEqual([v.ceiling_bytes, v.disk_used_bytes, v.ceiling_source], [4000, 2600, 'sys.dm_os_volume_stats']);
  });
});

describe('SQL Server composition through mssql/tedious (TDS responder)', () => {
  let server: TdsResponder;
  before(async () => {
    server = await startTdsResponder({
      login: (l, pw) => acceptPassword(l, pw),
      handlers: [
        [/SERVERPROPERTY\('ProductVersion'\)/, identity],
        [
          FILES,
          (_s, _m, login) =>
            masterFiles(login, 'bigint', DBS).map((rs) => ({
              ...rs,
              rows: rs.rows.map((r) => (r[0] === 2 ? [...r.slice(0, 12), r[7] === 0 ? 131_072n : 8192n] : r)),
            })),
        ],
        [USED, used],
        [
          /^SELECT name, log_reuse_wait_desc FROM sys\.databases$/,
          [
            {
              columns: [col('name', 'nvarchar'), col('log_reuse_wait_desc', 'nvarchar')],
              rows: DBS.map((d) => [d.name, USED_SPACE[d.name]?.[2] ?? 'NOTHING']),
            },
          ],
        ],
        [
          /CROSS APPLY sys\.dm_os_volume_stats\(f\.database_id, f\.file_id\) vs/,
          (_s, _m, login) =>
            login.user === 'nostate'
              ? { error: DENIED }
              : [
                  {
                    columns: [col('volume_mount_point', 'nvarchar'), col('total_bytes', 'bigint'), col('available_bytes', 'bigint')],
                    rows: VOLUMES.map((v) => [...v]),
                  },
                ],
        ],
      ],
    });
  });
  after(() => server?.close());

  const collect = async (username = 'dba'): Promise<Composition> => {
    const s = await engine.connect(target(server.port, { username }));
    try {
      return await s.composition!();
    } finally {
      await s.close();
    }
  };

  it('data and log used/unused per database with log_reuse_wait_desc, tempdb, the unsplit databases with their reason, the volumes as the ceiling', async () => {
    const c = await collect();
    for (const [kind, bytes] of Object.entries(EXPECTED)) assert.equal(part(c, kind).bytes, bytes, kind);
    // The parts cover every file but the snapshot's, exactly once.
    const allocated = DBS.filter((d) => d.source === undefined && d.id !== 2).reduce((a, d) => a + Number(d.data + d.log) * P, 0) + EXPECTED.tempdb;
    assert.equal(
      c.parts.reduce((a, p) => a + p.bytes!, 0),
      allocated,
    );
    assert.deepEqual(part(c, 'log_used').detail!.databases, {
      master: { bytes: 100 * P, log_reuse_wait_desc: 'NOTHING' },
      sales: { bytes: 10 * 1024 * 1024, log_reuse_wait_desc: 'LOG_BACKUP' },
      "hr it's 库": { bytes: 100 * P, log_reuse_wait_desc: 'NOTHING' },
    });
    assert.deepEqual(part(c, 'log_used').detail!.waiting, [{ database: 'sales', log_reuse_wait_desc: 'LOG_BACKUP' }]);
    const unsplit = part(c, 'allocated_unsplit').detail!.databases as Record<string, { bytes: number; reason: string }>;
    assert.match(unsplit.locked!.reason, /无权访问该数据库.*CREATE USER/);
    assert.match(unsplit.archive!.reason, /OFFLINE/);
    assert.deepEqual([c.ceiling_bytes, c.ceiling_source, c.disk_used_bytes], [1524 * GiB, 'sys.dm_os_volume_stats', 300 * GiB + 424 * GiB]);
    assert.equal(c.method, 'sys.master_files+fileproperty+dm_db_log_space_usage+dm_os_volume_stats');
    // What the service reports as unexplained: disk in use minus the parts.
    console.log(`# parts ${allocated} B, disk used ${c.disk_used_bytes} B, unexplained ${c.disk_used_bytes! - allocated} B`);
  });

  it('without VIEW SERVER STATE: the split parts and the ceiling are null with the reason and the GRANT, never 0', async () => {
    const c = await collect('nostate');
    for (const k of ['data_used', 'data_unused', 'log_used', 'log_unused']) {
      const p = part(c, k);
      assert.equal(p.bytes, null, k);
      assert.match(p.reason!, /VIEW SERVER STATE.*GRANT VIEW SERVER PERFORMANCE STATE TO \[nostate\]/, k);
    }
    assert.equal(part(c, 'tempdb').bytes, EXPECTED.tempdb);
    assert.equal(
      part(c, 'allocated_unsplit').bytes,
      DBS.filter((d) => d.source === undefined && d.id !== 2).reduce((a, d) => a + Number(d.data + d.log) * P, 0),
    );
    assert.deepEqual([c.ceiling_bytes, c.disk_used_bytes], [null, null]);
    assert.match(String(c.ceiling_detail!.reason), /dm_os_volume_stats.*GRANT VIEW SERVER PERFORMANCE STATE TO \[nostate\]/);
  });
});
