import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addDays } from '../../src/lib/clock.js';
import { AppError } from '../../src/lib/errors.js';
import type { AlertsService } from '../../src/services/alerts.service.js';
import { channelUrl, type StoredChannel } from '../../src/services/alerts/channel-url.js';
import { forEachStore } from '../helpers/context.js';
import { addInstance, addSyncRecord, alertStack, drain, receiver, setDatabaseSize, setInstanceTotal, setLifecycle, type AlertStack } from './helpers.js';

const actor = { userId: null, username: 'test' };
const GB = 1024 ** 3;
const today = new Date().toISOString().slice(0, 10);

async function events(s: AlertStack, ruleId: number) {
  return (await s.alerts.listEvents({ rule_id: ruleId, limit: 500 })).items;
}

async function rejects(p: Promise<unknown>, re: RegExp, kind = 'validation') {
  await assert.rejects(p, (e: unknown) => e instanceof AppError && e.kind === kind && re.test(e.message));
}

forEachStore('alerts: delivery to a local receiver', (get) => {
  test('exactly one delivery per firing and one per resolve; the token never appears in the API or the logs', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const rx = await receiver([200]);
    try {
      const inst = await addInstance(ctx);
      const rule = await s.alerts.createRule(
        { name: 'big-instance', kind: 'size_above', instance_id: inst.id, threshold: 10 * GB, channels: [{ type: 'generic', url: rx.url }] },
        actor,
      );
      assert.equal(rule.channels[0]!.url.includes('SECRET'), false, 'rule channels are masked');

      await setInstanceTotal(ctx, inst.id, today, 12 * GB);
      assert.equal((await s.alerts.evaluate()).fired, 1);
      assert.equal((await s.alerts.evaluate()).still_firing, 1, 'still true: no second event');
      const [ev] = await events(s, rule.id);
      await drain(s.delivery, s.repo, [ev!.id]);
      assert.equal(rx.got.length, 1);
      const body = rx.got[0]!.body as Record<string, unknown>;
      assert.equal(body.state, 'firing');
      assert.equal(body.rule, 'big-instance');
      assert.equal(body.instance, inst.name);
      assert.equal(body.value, 12 * GB);
      assert.equal(body.resolved_at, null);

      await setInstanceTotal(ctx, inst.id, today, 8 * GB);
      assert.equal((await s.alerts.evaluate()).resolved, 1);
      assert.equal((await s.alerts.evaluate()).resolved, 0, 'already resolved');
      await drain(s.delivery, s.repo, [ev!.id]);
      await s.delivery.deliverDue();
      assert.equal(rx.got.length, 2);
      const second = rx.got[1]!.body as Record<string, unknown>;
      assert.equal(second.state, 'resolved');
      assert.ok(second.resolved_at);

      const detail = await s.alerts.getEvent(ev!.id);
      assert.equal(detail.state, 'resolved');
      assert.deepEqual(
        detail.deliveries.map((d) => [d.transition, d.status, d.attempt, d.http_status]),
        [
          ['firing', 'delivered', 1, 200],
          ['resolved', 'delivered', 1, 200],
        ],
      );
      assert.equal(JSON.stringify(detail).includes('SECRET-TOKEN-123'), false, 'no token in the API view');
      assert.equal(ctx.logs.join('').includes('SECRET-TOKEN-123'), false, 'no token in the logs');
    } finally {
      await rx.close();
    }
  });

  test('a failing receiver (500, then 200) is retried and every attempt is logged', async () => {
    const ctx = get();
    // Backoff 300 ms, then 600 ms: a pass run right after the first finds nothing due yet.
    const s = await alertStack(ctx, { baseDelayMs: 300, maxAttempts: 4 });
    const rx = await receiver([500, 500, 200]);
    try {
      const inst = await addInstance(ctx);
      const rule = await s.alerts.createRule(
        { name: 'retry-me', kind: 'size_above', instance_id: inst.id, threshold: GB, channels: [{ type: 'dingtalk', url: rx.url }] },
        actor,
      );
      await setInstanceTotal(ctx, inst.id, today, 2 * GB);
      await s.alerts.evaluate();
      const [ev] = await events(s, rule.id);
      // evaluate() kicks a delivery pass itself; deliverDue() joins it while it runs, or runs one after it. Either way
      // one attempt has been made (a 500) and the retry waits its backoff: one attempt per pass.
      await s.delivery.deliverDue();
      const [queued] = await s.repo.deliveriesOf(ev!.id);
      assert.deepEqual([queued!.status, queued!.attempt, queued!.http_status], ['pending', 1, 500], 'one attempt per pass; the retry waits its backoff');
      await drain(s.delivery, s.repo, [ev!.id]);
      assert.equal(rx.got.length, 3);
      const [d] = (await s.alerts.getEvent(ev!.id)).deliveries;
      assert.equal(d!.status, 'delivered');
      assert.equal(d!.attempt, 3);
      assert.equal(d!.http_status, 200);
      const log = d!.log as { attempt: number; http_status: number; error: string | null; at: string }[];
      assert.deepEqual(
        log.map((a) => [a.attempt, a.http_status]),
        [
          [1, 500],
          [2, 500],
          [3, 200],
        ],
      );
      assert.match(log[0]!.error!, /HTTP 500/);
      assert.equal(log[2]!.error, null);
      // Backoff doubles: the 2nd retry waited at least twice the base.
      assert.ok(Date.parse(log[2]!.at) - Date.parse(log[1]!.at) >= 40 - 5);
    } finally {
      await rx.close();
    }
  });

  test('a receiver that never recovers: failed after maxAttempts, the error stored without the token', async () => {
    const ctx = get();
    const s = await alertStack(ctx, { baseDelayMs: 5, maxAttempts: 2 });
    const inst = await addInstance(ctx);
    // Nothing listens on port 9 of 127.0.0.1: connection refused.
    const rule = await s.alerts.createRule(
      {
        name: 'dead-hook',
        kind: 'size_above',
        instance_id: inst.id,
        threshold: GB,
        channels: [{ type: 'wecom', url: 'http://127.0.0.1:9/cgi-bin/webhook/send?key=WECOM-KEY-999' }],
      },
      actor,
    );
    await setInstanceTotal(ctx, inst.id, today, 2 * GB);
    await s.alerts.evaluate();
    const [ev] = await events(s, rule.id);
    await drain(s.delivery, s.repo, [ev!.id]);
    const [d] = (await s.alerts.getEvent(ev!.id)).deliveries;
    assert.equal(d!.status, 'failed');
    assert.equal(d!.attempt, 2);
    assert.ok(d!.error);
    assert.equal(d!.url, 'http://127.0.0.1:9/cgi-bin/webhook/send?***');
    assert.equal(JSON.stringify(d).includes('WECOM-KEY-999'), false);
    assert.equal(ctx.logs.join('').includes('WECOM-KEY-999'), false);
  });
});

forEachStore('alerts: dedup', (get) => {
  test('a condition that stays true fires once; concurrent evaluations open one event; it fires again after it cleared', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const inst = await addInstance(ctx);
    const rule = await s.alerts.createRule(
      { name: 'dedup', kind: 'size_above', instance_id: inst.id, threshold: GB, channels: [{ type: 'generic', url: 'http://127.0.0.1:9/x' }] },
      actor,
    );
    await setInstanceTotal(ctx, inst.id, today, 2 * GB);
    // Two services on the same store: as two processes would race after a batch sync.
    const other = await alertStack(ctx);
    const r = await Promise.all([s.alerts.evaluate(), other.alerts.evaluate(), s.alerts.evaluate({ instanceIds: [inst.id] })]);
    assert.equal(
      r.reduce((n, x) => n + x.fired, 0),
      1,
    );
    let evs = await events(s, rule.id);
    assert.equal(evs.length, 1);
    assert.equal((await s.repo.deliveriesOf(evs[0]!.id)).length, 1, 'one firing delivery');

    await setInstanceTotal(ctx, inst.id, today, GB / 2);
    const rr = await Promise.all([s.alerts.evaluate(), other.alerts.evaluate()]);
    assert.equal(
      rr.reduce((n, x) => n + x.resolved, 0),
      1,
    );
    assert.equal((await s.repo.deliveriesOf(evs[0]!.id)).length, 2, 'one resolved delivery');

    await setInstanceTotal(ctx, inst.id, today, 3 * GB);
    assert.equal((await s.alerts.evaluate()).fired, 1, 'true again: a new event');
    evs = await events(s, rule.id);
    assert.deepEqual(
      evs.map((e) => e.state),
      ['firing', 'resolved'],
    );
  });

  test("a single-instance evaluation does not resolve other instances' events", async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const a = await addInstance(ctx);
    const b = await addInstance(ctx);
    const rule = await s.alerts.createRule({ name: 'per-instance', kind: 'size_above', threshold: GB, instance_id: null }, actor);
    await setInstanceTotal(ctx, a.id, today, 2 * GB);
    await setInstanceTotal(ctx, b.id, today, 2 * GB);
    await s.alerts.evaluate();
    await setInstanceTotal(ctx, a.id, today, 1);
    const r = await s.alerts.evaluate({ instanceIds: [a.id] });
    assert.equal(r.resolved, 1);
    const open = (await events(s, rule.id)).filter((e) => e.state === 'firing' && (e.instance_id === a.id || e.instance_id === b.id));
    assert.deepEqual(
      open.map((e) => e.instance_id),
      [b.id],
    );
    await s.alerts.deleteRule(rule.id, actor);
  });
});

forEachStore('alerts: rule kinds', (get) => {
  test('size_above on databases matching a pattern', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const inst = await addInstance(ctx);
    const rule = await s.alerts.createRule({ name: 'db-size', kind: 'size_above', instance_id: inst.id, database_pattern: 'app_*', threshold: 100 }, actor);
    await setDatabaseSize(ctx, inst.id, 'app_one', today, 500);
    await setDatabaseSize(ctx, inst.id, 'app_two', today, 50);
    await setDatabaseSize(ctx, inst.id, 'other', today, 5000);
    await s.alerts.evaluate();
    const evs = await events(s, rule.id);
    assert.deepEqual(
      evs.map((e) => [e.database_name, e.value, e.state]),
      [['app_one', 500, 'firing']],
    );
  });

  test('growth_bytes and growth_pct over a week (missing days use the latest earlier day) and a day', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const inst = await addInstance(ctx);
    const d0 = today;
    await setInstanceTotal(ctx, inst.id, addDays(d0, -9), 1000); // baseline: nothing on d0-7 or d0-8
    await setInstanceTotal(ctx, inst.id, addDays(d0, -1), 1400);
    await setInstanceTotal(ctx, inst.id, d0, 1500);
    const wb = await s.alerts.createRule({ name: 'week-bytes', kind: 'growth_bytes', window: 'week', instance_id: inst.id, threshold: 400 }, actor);
    const wp = await s.alerts.createRule({ name: 'week-pct', kind: 'growth_pct', window: 'week', instance_id: inst.id, threshold: 60 }, actor);
    const dp = await s.alerts.createRule({ name: 'day-pct', kind: 'growth_pct', window: 'day', instance_id: inst.id, threshold: 5 }, actor);
    await s.alerts.evaluate({ instanceIds: [inst.id] });
    assert.deepEqual(
      (await events(s, wb.id)).map((e) => e.value),
      [500],
    );
    assert.deepEqual(
      (await events(s, wp.id)).map((e) => e.value),
      [],
      '50 % is not above 60 %',
    );
    assert.deepEqual(
      (await events(s, dp.id)).map((e) => e.value),
      [7.14],
    );

    // Database-level growth.
    await setDatabaseSize(ctx, inst.id, 'orders', addDays(d0, -1), 100);
    await setDatabaseSize(ctx, inst.id, 'orders', d0, 300);
    await setDatabaseSize(ctx, inst.id, 'logs', addDays(d0, -1), 100);
    await setDatabaseSize(ctx, inst.id, 'logs', d0, 101);
    const dbr = await s.alerts.createRule({ name: 'db-day-pct', kind: 'growth_pct', instance_id: inst.id, database_pattern: '*', threshold: 50 }, actor);
    assert.equal(dbr.window, 'day', 'window defaults to day');
    await s.alerts.evaluate();
    assert.deepEqual(
      (await events(s, dbr.id)).map((e) => [e.database_name, e.value]),
      [['orders', 200]],
    );
  });

  test('days_until_full: a linear series fires with the right number of days; flat and noisy do not', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const steady = await addInstance(ctx, { options: { capacity_limit_bytes: 2000 } });
    const flat = await addInstance(ctx);
    for (let i = 9; i >= 0; i--) {
      await setInstanceTotal(ctx, steady.id, addDays(today, -i), 1000 + (9 - i) * 10); // +10/day, 1090 today
      await setInstanceTotal(ctx, flat.id, addDays(today, -i), 1000);
      await setDatabaseSize(ctx, steady.id, 'ts_users', addDays(today, -i), 100 + (9 - i) * 5, 200); // +5/day, 145, limit 200 → 11 days
      await setDatabaseSize(ctx, steady.id, 'ts_noise', addDays(today, -i), i % 2 ? 100 : 190, 200);
    }
    // Instance: (2000 − 1090) / 10 = 91 days.
    const inst91 = await s.alerts.createRule({ name: 'full-inst', kind: 'days_until_full', instance_id: steady.id, threshold: 100 }, actor);
    const inst30 = await s.alerts.createRule({ name: 'full-inst-30', kind: 'days_until_full', instance_id: steady.id, threshold: 30 }, actor);
    const flatR = await s.alerts.createRule({ name: 'full-flat', kind: 'days_until_full', instance_id: flat.id, threshold: 3650, limit_bytes: 1001 }, actor);
    const dbs = await s.alerts.createRule({ name: 'full-db', kind: 'days_until_full', instance_id: steady.id, database_pattern: 'ts_*', threshold: 30 }, actor);
    await s.alerts.evaluate();
    assert.deepEqual(
      (await events(s, inst91.id)).map((e) => e.value),
      [91],
    );
    assert.deepEqual(await events(s, inst30.id), []);
    assert.deepEqual(await events(s, flatR.id), [], 'not growing: never full');
    assert.deepEqual(
      (await events(s, dbs.id)).map((e) => [e.database_name, e.value]),
      [['ts_users', 11]],
      'noise is unpredictable: silent',
    );
  });

  test('days_until_full: an instance over its limit on its first measured day fires at once (0 days), in both languages', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const inst = await addInstance(ctx, { options: { capacity_limit_bytes: 40_000_000 } });
    await setInstanceTotal(ctx, inst.id, today, 44_430_083);
    const rule = await s.alerts.createRule({ name: 'runway30', kind: 'days_until_full', instance_id: inst.id, threshold: 30 }, actor);
    assert.equal((await s.alerts.evaluate()).fired, 1);
    const [ev] = await events(s, rule.id);
    assert.equal(ev!.value, 0);
    assert.equal(
      ev!.message,
      `实例 ${inst.name} 已达到上限 38.15 MB（${today} 容量 42.37 MB） (Instance ${inst.name}: at the ceiling 38.15 MB already (42.37 MB on ${today}))`,
    );
  });

  test('database_disappeared fires for deletions after the rule exists and resolves on restore', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const inst = await addInstance(ctx);
    await setLifecycle(ctx, inst.id, 'ancient', '2000-01-01T00:00:00.000Z');
    const rule = await s.alerts.createRule({ name: 'gone', kind: 'database_disappeared', instance_id: inst.id }, actor);
    await setLifecycle(ctx, inst.id, 'sales', new Date(Date.now() + 1000).toISOString());
    await setLifecycle(ctx, inst.id, 'present', null);
    await s.alerts.evaluate();
    assert.deepEqual(
      (await events(s, rule.id)).map((e) => [e.database_name, e.state]),
      [['sales', 'firing']],
    );
    await setLifecycle(ctx, inst.id, 'sales', null);
    await s.alerts.evaluate();
    assert.deepEqual(
      (await events(s, rule.id)).map((e) => [e.database_name, e.state]),
      [['sales', 'resolved']],
    );
  });

  test('sync_failing fires after K failures in a row and resolves on the next success', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const inst = await addInstance(ctx, { dbType: 'mysql', tags: ['prod'] });
    const rule = await s.alerts.createRule({ name: 'failing', kind: 'sync_failing', consecutive: 3, db_type: 'mysql', tag: 'prod' }, actor);
    const otherTag = await s.alerts.createRule({ name: 'failing-dev', kind: 'sync_failing', consecutive: 1, tag: 'dev' }, actor);
    await addSyncRecord(ctx, inst.id, 'completed');
    await addSyncRecord(ctx, inst.id, 'failed', 'connection refused');
    await addSyncRecord(ctx, inst.id, 'failed', 'connection refused');
    await s.alerts.evaluate({ instanceIds: [inst.id] });
    assert.equal((await events(s, rule.id)).length, 0, 'two failures are not three');
    await addSyncRecord(ctx, inst.id, 'failed', 'connection refused');
    await s.alerts.evaluate({ instanceIds: [inst.id] });
    const [ev] = await events(s, rule.id);
    assert.equal(ev!.value, 3);
    assert.match(ev!.message, /connection refused/);
    assert.equal((await events(s, otherTag.id)).length, 0, 'tag filter');
    // Still failing: the open event says the current streak (value and message), not the count it fired with.
    await addSyncRecord(ctx, inst.id, 'failed', 'connection refused');
    await s.alerts.evaluate({ instanceIds: [inst.id] });
    const [now] = await events(s, rule.id);
    assert.deepEqual([now!.id, now!.value], [ev!.id, 4]);
    assert.match(
      now!.message,
      /^实例 \S+ 容量同步连续失败 4 次：connection refused \(Instance \S+: capacity sync failed 4 times in a row: connection refused\)$/,
    );
    await addSyncRecord(ctx, inst.id, 'completed');
    await s.alerts.evaluate({ instanceIds: [inst.id] });
    assert.equal((await events(s, rule.id))[0]!.state, 'resolved');
  });

  test("the sync service's record event triggers an evaluation of that instance", async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    s.alerts.attach(ctx.capacitySync.events);
    const inst = await addInstance(ctx);
    const rule = await s.alerts.createRule({ name: 'via-event', kind: 'size_above', instance_id: inst.id, threshold: 10 }, actor);
    await setInstanceTotal(ctx, inst.id, today, 20);
    ctx.capacitySync.events.emit(
      'record',
      { record_id: 1, instance_id: inst.id, instance_name: inst.name, status: 'completed', attempt: 1, duration_ms: 1, warnings: [] },
      'manual_single',
    );
    await s.alerts.evaluate({ instanceIds: [] }); // queued behind the event's evaluation
    assert.equal((await events(s, rule.id)).length, 1);
  });
});

forEachStore('alerts: validation', (get) => {
  test('invalid rules are refused with a clear 400 and change nothing', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const inst = await addInstance(ctx);
    const before = (await s.alerts.listRules()).length;
    const a = s.alerts;
    await rejects(a.createRule({ kind: 'size_above', threshold: 1 }, actor), /^name: /);
    await rejects(a.createRule({ name: 'x', kind: 'nope' }, actor), /^kind: /);
    await rejects(a.createRule({ name: 'x', kind: 'size_above' }, actor), /^threshold: .*required/);
    await rejects(a.createRule({ name: 'x', kind: 'size_above', threshold: -1 }, actor), /^threshold: /);
    await rejects(a.createRule({ name: 'x', kind: 'size_above', threshold: 1, window: 'week' }, actor), /^window: /);
    await rejects(a.createRule({ name: 'x', kind: 'growth_pct', threshold: 5, window: 'month' }, actor), /^window: /);
    await rejects(a.createRule({ name: 'x', kind: 'sync_failing', consecutive: 0 }, actor), /^consecutive: /);
    await rejects(a.createRule({ name: 'x', kind: 'sync_failing', threshold: 3 }, actor), /^threshold: /);
    await rejects(a.createRule({ name: 'x', kind: 'size_above', threshold: 1, instance_id: 999999 }, actor), /^instance_id: /);
    await rejects(a.createRule({ name: 'x', kind: 'size_above', threshold: 1, db_type: 'db2' }, actor), /^db_type: /);
    await rejects(a.createRule({ name: 'x', kind: 'size_above', threshold: 1, channels: [{ type: 'sms', url: 'http://x' }] }, actor), /^channels\[0\]\.type: /);
    await rejects(
      a.createRule({ name: 'x', kind: 'size_above', threshold: 1, channels: [{ type: 'slack', url: 'ftp://x/y' }] }, actor),
      /^channels\[0\]\.url: /,
    );
    await rejects(a.createRule({ name: 'x', kind: 'size_above', threshold: 1, colour: 'red' }, actor), /^colour: /);
    assert.equal((await s.alerts.listRules()).length, before);

    const ok = await a.createRule(
      {
        name: 'valid',
        kind: 'size_above',
        threshold: 5,
        instance_id: inst.id,
        channels: [{ type: 'slack', url: 'https://hooks.slack.com/services/T1/B2/SLACKSECRET' }],
      },
      actor,
    );
    assert.equal(ok.channels[0]!.url, 'https://hooks.slack.com/services/***');
    await rejects(a.createRule({ name: 'valid', kind: 'size_above', threshold: 5 }, actor), /已存在/, 'conflict');
    await rejects(a.updateRule(ok.id, { threshold: 'big' }, actor), /^threshold: /);
    await rejects(a.updateRule(ok.id, { kind: 'growth_pct' }, actor), /^threshold: .*required/);
    await rejects(a.updateRule(999999, { threshold: 1 }, actor), /不存在/, 'not_found');
    const same = await a.getRule(ok.id);
    assert.deepEqual(same, ok, 'failed updates changed nothing');

    // A patch without channels keeps the stored URL: encrypted at rest, the same URL once decrypted.
    await a.updateRule(ok.id, { threshold: 6 }, actor);
    const row = await s.repo.getRule(ok.id);
    assert.doesNotMatch(row!.channels, /SLACKSECRET/);
    assert.match(channelUrl(ctx.keys, (JSON.parse(row!.channels) as StoredChannel[])[0]!), /SLACKSECRET/);
    assert.equal(row!.threshold, 6);
  });

  test('deactivating a rule closes its open events without sending anything', async () => {
    const ctx = get();
    const s = await alertStack(ctx);
    const inst = await addInstance(ctx);
    const rule = await s.alerts.createRule(
      { name: 'to-pause', kind: 'size_above', threshold: 1, instance_id: inst.id, channels: [{ type: 'generic', url: 'http://127.0.0.1:9/x' }] },
      actor,
    );
    await setInstanceTotal(ctx, inst.id, today, 5);
    await s.alerts.evaluate();
    await s.alerts.updateRule(rule.id, { is_active: false }, actor);
    const [ev] = await events(s, rule.id);
    assert.equal(ev!.state, 'resolved');
    assert.deepEqual(
      (await s.repo.deliveriesOf(ev!.id)).map((d) => d.transition),
      ['firing'],
    );
    assert.equal((await s.alerts.evaluate()).fired, 0);
  });
});

export type { AlertsService };
