/**
 * The table budget on the real MariaDB: a schema with 20,000 tables and a
 * budget of 5,000 tables / 10 s keeps the 5,000 largest, summarises the
 * other 15,000 in one "other" row (its count and bytes from the same
 * aggregate query) and the sync record says what was cut. A time budget
 * spent on the first schema leaves the next one uncollected, said so, not
 * marked deleted. The tables are created and dropped over four connections at
 * once: InnoDB commits concurrent DDL together (one log flush for several), about
 * five times faster here than one statement after another.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2/promise';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { newTestContext, type TestContext } from '../helpers/context.js';
import { mysqlAdmin, uniqueName } from '../helpers/targets.js';
import { addInstance, mysqlReader } from './helpers.js';

const TABLES = Number(process.env.TEST_BUDGET_TABLES ?? 20_000);
const KEEP = 5_000;
const FILLED = 300;
/** Connections creating (and dropping) the tables side by side. */
const LANES = 4;

/** `statements` over LANES connections of their own, 250 statements a round trip. */
async function onLanes(statements: string[]): Promise<void> {
  const lanes = await Promise.all(Array.from({ length: LANES }, () => mysqlAdmin()));
  try {
    await Promise.all(
      lanes.map(async (conn, lane) => {
        const mine = statements.filter((_, i) => i % LANES === lane);
        for (let i = 0; i < mine.length; i += 250) await conn.query(mine.slice(i, i + 250).join(';'));
      }),
    );
  } finally {
    await Promise.all(lanes.map((c) => c.end()));
  }
}
const tableName = (i: number) => `t${String(i).padStart(5, '0')}`;

describe(`table budget: ${TABLES} tables in one MariaDB schema, budget ${KEEP} tables / 10 s`, () => {
  let ctx: TestContext;
  let admin: mysql.Connection;
  const user = uniqueName('budget_u');
  const big = uniqueName('budget_big');
  const small = uniqueName('budget_small');
  let creds: [string, Record<string, unknown>, string];

  before(async () => {
    // One scan of 20,000 tables takes ~6 s on an idle 2-core machine, far more on a busy one: no 30 s query limit here.
    ctx = await newTestContext('sqlite', { env: { WHALEFALL_SYNC_TIMEOUT_MS: '600000' } });
    admin = await mysqlAdmin();
    await admin.query(
      `CREATE DATABASE ${big}; CREATE DATABASE ${small}; CREATE TABLE ${small}.only (id int PRIMARY KEY) STATS_PERSISTENT=1 STATS_AUTO_RECALC=0; ANALYZE TABLE ${small}.only`,
    );
    const created = Date.now();
    await onLanes(
      Array.from(
        { length: TABLES },
        (_, i) => `CREATE TABLE ${big}.${tableName(i)} (id int PRIMARY KEY, v varchar(200)) ENGINE=InnoDB STATS_PERSISTENT=1 STATS_AUTO_RECALC=0`,
      ),
    );
    // A few hundred tables of different sizes, so "the largest" is not just a tie-break.
    let fill = '';
    for (let i = 0; i < FILLED; i++) fill += `INSERT INTO ${big}.${tableName(i * 7)} SELECT seq, repeat('x', 150) FROM ${big}.seq_1_to_${(i + 1) * 20};`;
    await admin.query(fill);
    // Settle InnoDB's persistent statistics now, and never again (STATS_AUTO_RECALC=0): a background
    // recalculation would move sizes between the sync and the check query.
    const filled = Array.from({ length: FILLED }, (_, i) => `${big}.${tableName(i * 7)}`);
    for (let i = 0; i < filled.length; i += 100) await admin.query(`ANALYZE TABLE ${filled.slice(i, i + 100).join(', ')}`);
    creds = await mysqlReader(admin, user);
    console.log(`# ${TABLES} tables created and filled in ${Date.now() - created} ms`);
  });

  after(async () => {
    // The tables first, side by side (DROP DATABASE drops them one after another), then the emptied schemas.
    const dropped = Date.now();
    if (admin) await onLanes(Array.from({ length: TABLES }, (_, i) => `DROP TABLE IF EXISTS ${big}.${tableName(i)}`));
    await admin?.query(`DROP DATABASE IF EXISTS ${big}; DROP DATABASE IF EXISTS ${small}`);
    console.log(`# dropped in ${Date.now() - dropped} ms`);
    for (const host of ['%', 'localhost', '127.0.0.1']) await admin?.query('DROP USER IF EXISTS ?@?', [user, host]);
    await admin?.end();
    await ctx?.cleanup();
  });

  it('keeps the largest 5,000, one "other" row with the remainder, and a record that says so', async () => {
    const instanceId = await addInstance(ctx, 'mariadb', 3306, creds[0], { tables_max_tables: KEEP, tables_max_seconds: 10 }, creds[2]);
    const t0 = Date.now();
    const r = await ctx.tables.syncTables(instanceId, { databases: [big, small], actor: CLI_ACTOR });
    const elapsed = Date.now() - t0;
    const [sizes] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT TABLE_NAME AS t, DATA_LENGTH + INDEX_LENGTH AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY DATA_LENGTH + INDEX_LENGTH DESC, TABLE_NAME',
      [big],
    );
    assert.equal(sizes.length, TABLES);
    const expectedKept = new Set(sizes.slice(0, KEEP).map((x) => x.t as string));
    const rest = sizes.slice(KEEP).reduce((s, x) => s + Number(x.b), 0);

    const list = await ctx.tables.listTables(instanceId, big, { limit: 100_000 });
    const tables = list.items.filter((x) => x.kind !== 'other');
    const other = list.items.filter((x) => x.kind === 'other');
    assert.equal(tables.length, KEEP);
    assert.deepEqual(new Set(tables.map((x) => x.table_name)), expectedKept);
    assert.equal(other.length, 1);
    assert.equal(other[0]!.table_count, TABLES - KEEP);
    assert.equal(other[0]!.total_bytes, rest);
    assert.equal(list.items.at(-1)?.kind, 'other', 'the "other" row sorts last');
    assert.equal(
      list.totals?.total_bytes,
      sizes.reduce((s, x) => s + Number(x.b), 0),
      'kept + other = the schema',
    );

    // The budget is per instance: the 5,000 are spent, so the next schema is all "other" — or, when the
    // big schema's scan alone outlasted the 10 s (a busy machine), it was not reached and says so.
    const smallRow = r.databases.find((d) => d.database_name === small);
    const [[only]] = await admin.query<mysql.RowDataPacket[]>('SELECT DATA_LENGTH + INDEX_LENGTH AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [
      small,
    ]);
    if (r.duration_ms < 10_000) assert.deepEqual(smallRow, { database_name: small, tables: 0, other_tables: 1, other_bytes: Number(only!.b) });
    else
      assert.deepEqual(smallRow, {
        database_name: small,
        tables: 0,
        error: '表级采集时间预算已用完，未采集 (table time budget exhausted: not collected this run)',
        error_msg: { key: 'api.tables.out_of_time' },
      });

    const session = await ctx.capacity.session(r.session_id);
    const details = session.records[0]!.details as unknown as { budget: unknown; cut: string[]; databases: { database_name: string; other_tables?: number }[] };
    assert.deepEqual(details.budget, { max_tables: KEEP, max_seconds: 10 });
    assert.equal(details.databases.find((d) => d.database_name === big)?.other_tables, TABLES - KEEP);
    assert.match(details.cut[0]!, new RegExp(`^${big}: .*kept the ${KEEP} largest, ${TABLES - KEEP} more summarised as "other"`));
    console.log(`# budget run: ${elapsed} ms for ${TABLES} tables (kept ${KEEP})`);
  });

  it('a spent time budget leaves the next database uncollected, recorded and not marked deleted', async () => {
    const instanceId = await addInstance(ctx, 'mariadb', 3306, creds[0], { tables_max_tables: KEEP, tables_max_seconds: 1 }, creds[2]);
    const r = await ctx.tables.syncTables(instanceId, { databases: [big, small], actor: CLI_ACTOR });
    const smallRow = r.databases.find((d) => d.database_name === small)!;
    assert.match(smallRow.error ?? '', /time budget exhausted/);
    assert.ok(r.cut.some((c) => c.startsWith(`${small}: `) && /time budget exhausted/.test(c)));
    assert.equal((await ctx.tables.listTables(instanceId, small, {})).items.length, 0);
  });
});
