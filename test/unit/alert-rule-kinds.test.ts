/**
 * Every alert rule kind against a fake repository: what fires, with which
 * value and dedup target, and what does not (a missing baseline is not a
 * zero; history from before the rule is not news; a runway that is not
 * growing never pages anyone). `Record<RuleKind, …>` below makes a new kind
 * fail to compile until it has cases here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addDays } from '../../src/lib/clock.js';
import { compileGlob } from '../../src/lib/glob.js';
import { bilingualText } from '../../src/services/alerts/event-message.js';
import { RULE_EVALUATORS, type RuleKind, type RuleRepository } from '../../src/services/alerts/rule-kinds.js';
import { msgText } from '../../src/client/shared/i18n/index.js';
import type { AlertRuleRow } from '../../src/store/alerts.repository.js';
import { instanceRow } from './fakes.js';

const GiB = 1024 ** 3;
const DAY = '2026-03-10';

function rule(kind: RuleKind, over: Partial<AlertRuleRow> = {}): AlertRuleRow {
  return {
    id: 9,
    name: 'r',
    kind,
    instance_id: null,
    db_type: null,
    tag: null,
    database_pattern: null,
    threshold: null,
    window: null,
    consecutive: null,
    limit_bytes: null,
    is_active: 1,
    channels: '[]',
    created_at: '2026-03-01T00:00:00.000Z',
    updated_at: '2026-03-01T00:00:00.000Z',
    ...over,
  };
}

/** Reads answered from plain data; anything not given is empty. */
function fakeRepo(data: {
  totals?: Record<number, { day: string; bytes: number }[]>;
  dbs?: Record<number, { name: string; day: string; bytes: number | null; max?: number | null }[]>;
  deleted?: Record<number, { name: string; at: string | null }[]>;
  records?: Record<number, { status: string; error_message: string | null; error_msg?: string | null }[]>;
}): RuleRepository {
  const totals = (id: number) => [...(data.totals?.[id] ?? [])].sort((a, b) => a.day.localeCompare(b.day));
  const dbs = (id: number) => data.dbs?.[id] ?? [];
  const latestDbDay = (id: number) => dbs(id).reduce((m, d) => (d.day > m ? d.day : m), '');
  const repo = {
    latestInstanceTotals: async (ids: number[]) =>
      ids.flatMap((id) => {
        const last = totals(id).at(-1);
        return last ? [{ instance_id: id, collected_date: last.day, total_size_bytes: last.bytes }] : [];
      }),
    instanceTotalOnOrBefore: async (id: number, day: string) => {
      const r = totals(id)
        .filter((t) => t.day <= day)
        .at(-1);
      return r ? { collected_date: r.day, total_size_bytes: r.bytes } : undefined;
    },
    instanceSeries: async (id: number, from: string) =>
      totals(id)
        .filter((t) => t.day >= from)
        .map((t) => ({ collected_date: t.day, total_size_bytes: t.bytes })),
    latestDatabaseSizes: async (id: number) =>
      dbs(id)
        .filter((d) => d.day === latestDbDay(id))
        .map((d) => ({ database_name: d.name, collected_date: d.day, size_bytes: d.bytes, max_bytes: d.max ?? null })),
    databaseSizesOnOrBefore: async (id: number, day: string) => {
      const best = new Map<string, { day: string; bytes: number | null }>();
      for (const d of dbs(id)) if (d.day <= day && (best.get(d.name)?.day ?? '') < d.day) best.set(d.name, d);
      return [...best].map(([name, d]) => ({ database_name: name, size_bytes: d.bytes }));
    },
    databaseSeries: async (id: number, from: string) =>
      dbs(id)
        .filter((d) => d.day >= from)
        .map((d) => ({ database_name: d.name, collected_date: d.day, size_bytes: d.bytes })),
    deletedDatabases: async (id: number) => (data.deleted?.[id] ?? []).map((d) => ({ database_name: d.name, deleted_at: d.at })),
    recentFinishedRecords: async (id: number, limit: number) => (data.records?.[id] ?? []).slice(0, limit),
    failedInARow: async (id: number) => {
      const recs = data.records?.[id] ?? [];
      const i = recs.findIndex((r) => r.status !== 'failed');
      return i < 0 ? recs.length : i;
    },
  };
  return repo as unknown as RuleRepository;
}

async function evaluate(r: AlertRuleRow, repo: RuleRepository, instances = [instanceRow({ id: 1, name: 'pg-1' })]) {
  const out: { instance_id: number; database: string | null; value: number | null; message: string; en: string; key: string }[] = [];
  await RULE_EVALUATORS[r.kind as RuleKind]({
    rule: r,
    instances,
    repo,
    re: r.database_pattern ? compileGlob(r.database_pattern) : undefined,
    threshold: r.threshold ?? 0,
    cond: (inst, database, value, m) => void out.push({ instance_id: inst.id, database, value, message: bilingualText(m), en: msgText(m, 'en'), key: m.key }),
    saw: () => {},
  });
  return out;
}

/** Ten days of a steady daily growth, ending on DAY. */
const steady = (start: number, perDay: number, n = 10) => Array.from({ length: n }, (_, i) => ({ day: addDays(DAY, i - n + 1), bytes: start + i * perDay }));

const CASES: Record<RuleKind, { title: string; run: () => Promise<void> }[]> = {
  size_above: [
    {
      title: 'the instance total above the threshold fires with the total; at the threshold it does not',
      run: async () => {
        const repo = fakeRepo({ totals: { 1: [{ day: DAY, bytes: 2 * GiB }] } });
        const [c] = await evaluate(rule('size_above', { threshold: GiB }), repo);
        assert.equal(c?.value, 2 * GiB);
        assert.equal(c?.database, null);
        assert.equal(c!.key, 'alert.size_above');
        assert.equal(c!.en, 'Instance pg-1: total size 2.00 GB above the threshold 1.00 GB');
        assert.match(c!.message, /^实例 pg-1 总容量 2.00 GB 超过阈值 1.00 GB \(Instance pg-1: total size 2.00 GB above the threshold 1.00 GB\)$/);
        assert.deepEqual(await evaluate(rule('size_above', { threshold: 2 * GiB }), repo), []);
      },
    },
    {
      title: 'with a pattern, each matching database is its own condition; unmeasured ones never fire',
      run: async () => {
        const repo = fakeRepo({
          dbs: {
            1: [
              { name: 'app_1', day: DAY, bytes: 5 * GiB },
              { name: 'app_2', day: DAY, bytes: null },
              { name: 'log', day: DAY, bytes: 9 * GiB },
            ],
          },
        });
        const out = await evaluate(rule('size_above', { threshold: GiB, database_pattern: 'app_%' }), repo);
        assert.deepEqual(
          out.map((c) => [c.database, c.value]),
          [['app_1', 5 * GiB]],
        );
      },
    },
    {
      title: 'an instance never synced has no total: nothing fires',
      run: async () => assert.deepEqual(await evaluate(rule('size_above', { threshold: 0 }), fakeRepo({})), []),
    },
  ],
  growth_pct: [
    {
      title: 'a day over day growth above the percentage fires, rounded to 0.01 %',
      run: async () => {
        const repo = fakeRepo({
          totals: {
            1: [
              { day: addDays(DAY, -1), bytes: 3000 },
              { day: DAY, bytes: 4000 },
            ],
          },
        });
        const [c] = await evaluate(rule('growth_pct', { threshold: 30, window: 'day' }), repo);
        assert.equal(c?.value, 33.33);
        assert.deepEqual(await evaluate(rule('growth_pct', { threshold: 34, window: 'day' }), repo), []);
      },
    },
    {
      title: 'no baseline a window back (a missing day is not a zero), or a zero baseline: nothing fires',
      run: async () => {
        assert.deepEqual(
          await evaluate(
            rule('growth_pct', { threshold: 1, window: 'week' }),
            fakeRepo({
              totals: {
                1: [
                  { day: addDays(DAY, -3), bytes: 1 },
                  { day: DAY, bytes: 100 },
                ],
              },
            }),
          ),
          [],
        );
        assert.deepEqual(
          await evaluate(
            rule('growth_pct', { threshold: 1, window: 'day' }),
            fakeRepo({
              totals: {
                1: [
                  { day: addDays(DAY, -1), bytes: 0 },
                  { day: DAY, bytes: 100 },
                ],
              },
            }),
          ),
          [],
        );
      },
    },
    {
      title: 'the week window compares with the latest day at least 7 days back',
      run: async () => {
        const repo = fakeRepo({
          totals: {
            1: [
              { day: addDays(DAY, -9), bytes: 100 },
              { day: addDays(DAY, -7), bytes: 200 },
              { day: DAY, bytes: 300 },
            ],
          },
        });
        const [c] = await evaluate(rule('growth_pct', { threshold: 10, window: 'week' }), repo);
        assert.equal(c?.value, 50);
      },
    },
  ],
  growth_bytes: [
    {
      title: 'growth in bytes above the threshold fires with the delta; shrinking never does',
      run: async () => {
        const up = fakeRepo({
          totals: {
            1: [
              { day: addDays(DAY, -1), bytes: GiB },
              { day: DAY, bytes: 3 * GiB },
            ],
          },
        });
        assert.equal((await evaluate(rule('growth_bytes', { threshold: GiB, window: 'day' }), up))[0]?.value, 2 * GiB);
        const down = fakeRepo({
          totals: {
            1: [
              { day: addDays(DAY, -1), bytes: 3 * GiB },
              { day: DAY, bytes: GiB },
            ],
          },
        });
        assert.deepEqual(await evaluate(rule('growth_bytes', { threshold: 0, window: 'day' }), down), []);
      },
    },
    {
      title: 'per database with a pattern, against each database’s own baseline',
      run: async () => {
        const repo = fakeRepo({
          dbs: {
            1: [
              { name: 'a', day: addDays(DAY, -1), bytes: 100 },
              { name: 'a', day: DAY, bytes: 1100 },
              { name: 'b', day: DAY, bytes: 5000 },
            ],
          },
        });
        const out = await evaluate(rule('growth_bytes', { threshold: 500, window: 'day', database_pattern: '*' }), repo);
        assert.deepEqual(
          out.map((c) => [c.database, c.value]),
          [['a', 1000]],
          'b has no baseline',
        );
      },
    },
  ],
  days_until_full: [
    {
      title: 'steady growth toward the instance’s limit fires with the days left',
      run: async () => {
        const repo = fakeRepo({ totals: { 1: steady(50 * GiB, GiB) } }); // 59 GiB on DAY, +1 GiB a day
        const [c] = await evaluate(rule('days_until_full', { threshold: 30, limit_bytes: 70 * GiB }), repo);
        assert.ok(c, 'fires');
        assert.ok(c.value! >= 10 && c.value! <= 12, `days ${c.value}`);
        assert.match(c.en, /reaches the ceiling .* in \d+ days \(robust fit since/);
        assert.deepEqual(await evaluate(rule('days_until_full', { threshold: 5, limit_bytes: 70 * GiB }), repo), [], 'more days than the threshold');
      },
    },
    {
      title: 'a flat or shrinking instance, or one without a limit, never fires',
      run: async () => {
        assert.deepEqual(
          await evaluate(rule('days_until_full', { threshold: 1000, limit_bytes: 70 * GiB }), fakeRepo({ totals: { 1: steady(50 * GiB, 0) } })),
          [],
        );
        assert.deepEqual(
          await evaluate(rule('days_until_full', { threshold: 1000, limit_bytes: 70 * GiB }), fakeRepo({ totals: { 1: steady(60 * GiB, -GiB) } })),
          [],
        );
        assert.deepEqual(await evaluate(rule('days_until_full', { threshold: 1000 }), fakeRepo({ totals: { 1: steady(50 * GiB, GiB) } })), []);
      },
    },
    {
      title: 'an instance over its ceiling on its first measured day fires at once, saying it is full',
      run: async () => {
        const inst = instanceRow({ id: 1, options: JSON.stringify({ capacity_limit_bytes: 40_000_000 }) });
        const [c, more] = await evaluate(rule('days_until_full', { threshold: 30 }), fakeRepo({ totals: { 1: [{ day: DAY, bytes: 44_430_083 }] } }), [inst]);
        assert.ok(c, 'fires');
        assert.equal(more, undefined);
        assert.equal(c.value, 0);
        assert.equal(c.en, `Instance pg-1: at the ceiling 38.15 MB already (42.37 MB on ${DAY})`);
        assert.deepEqual(
          await evaluate(rule('days_until_full', { threshold: 30 }), fakeRepo({ totals: { 1: [{ day: DAY, bytes: 30_000_000 }] } }), [inst]),
          [],
          'under the ceiling, one day says nothing about the days left',
        );
      },
    },
    {
      title: 'the instance option capacity_limit_bytes is the ceiling when the rule has none',
      run: async () => {
        const inst = instanceRow({ id: 1, options: JSON.stringify({ capacity_limit_bytes: 70 * GiB }) });
        const out = await evaluate(rule('days_until_full', { threshold: 30 }), fakeRepo({ totals: { 1: steady(50 * GiB, GiB) } }), [inst]);
        assert.equal(out.length, 1);
      },
    },
  ],
  database_disappeared: [
    {
      title: 'a database deleted after the rule was created fires once per database; older deletions are history',
      run: async () => {
        const repo = fakeRepo({
          deleted: {
            1: [
              { name: 'gone', at: '2026-03-05T00:00:00.000Z' },
              { name: 'old', at: '2026-02-01T00:00:00.000Z' },
              { name: 'never', at: null },
            ],
          },
        });
        const out = await evaluate(rule('database_disappeared'), repo);
        assert.deepEqual(
          out.map((c) => [c.database, c.value]),
          [['gone', null]],
        );
      },
    },
    {
      title: 'a pattern limits which disappearances count',
      run: async () => {
        const repo = fakeRepo({
          deleted: {
            1: [
              { name: 'tmp_1', at: '2026-03-05T00:00:00.000Z' },
              { name: 'prod', at: '2026-03-05T00:00:00.000Z' },
            ],
          },
        });
        assert.deepEqual(
          (await evaluate(rule('database_disappeared', { database_pattern: 'prod' }), repo)).map((c) => c.database),
          ['prod'],
        );
      },
    },
  ],
  sync_failing: [
    {
      title: 'k failed syncs in a row fire with k and the last error; one success among them does not',
      run: async () => {
        const failed = { status: 'failed', error_message: 'ECONNREFUSED' };
        const [c] = await evaluate(
          rule('sync_failing', { consecutive: 2 }),
          fakeRepo({ records: { 1: [failed, failed, { status: 'completed', error_message: null }] } }),
        );
        assert.equal(c?.value, 2);
        assert.match(c!.message, /ECONNREFUSED/);
        assert.deepEqual(
          await evaluate(
            rule('sync_failing', { consecutive: 3 }),
            fakeRepo({ records: { 1: [failed, failed, { status: 'completed', error_message: null }] } }),
          ),
          [],
        );
      },
    },
    {
      title: 'the last error keeps its key: the English message says the cause in English',
      run: async () => {
        const failed = {
          status: 'failed',
          error_message: '连接被拒绝: ECONNREFUSED',
          error_msg: JSON.stringify({ key: 'cause.connection_refused', params: { detail: 'ECONNREFUSED' } }),
        };
        const [c] = await evaluate(rule('sync_failing', { consecutive: 1 }), fakeRepo({ records: { 1: [failed] } }));
        assert.equal(c!.en, 'Instance pg-1: capacity sync failed 1 times in a row: Connection refused: ECONNREFUSED');
        assert.match(c!.message, /^实例 pg-1 容量同步连续失败 1 次：连接被拒绝: ECONNREFUSED \(Instance pg-1: /);
      },
    },
    {
      title: 'more failures in a row than k: the value and the message count them all',
      run: async () => {
        const failed = { status: 'failed', error_message: 'ECONNREFUSED' };
        const [c] = await evaluate(
          rule('sync_failing', { consecutive: 1 }),
          fakeRepo({ records: { 1: [failed, failed, failed, failed, { status: 'completed', error_message: null }, failed] } }),
        );
        assert.equal(c?.value, 4);
        assert.equal(c!.en, 'Instance pg-1: capacity sync failed 4 times in a row: ECONNREFUSED');
      },
    },
    {
      title: 'fewer finished records than k: nothing fires; the default k is 3',
      run: async () => {
        const failed = { status: 'failed', error_message: 'x' };
        assert.deepEqual(await evaluate(rule('sync_failing'), fakeRepo({ records: { 1: [failed, failed] } })), []);
        assert.equal((await evaluate(rule('sync_failing'), fakeRepo({ records: { 1: [failed, failed, failed] } })))[0]?.value, 3);
      },
    },
  ],
};

for (const [kind, cases] of Object.entries(CASES)) {
  describe(`alert rule kind ${kind}`, () => {
    for (const c of cases) it(c.title, c.run);
  });
}
