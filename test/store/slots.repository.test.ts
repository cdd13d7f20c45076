/**
 * The slot numbers a scope hands out (SlotsRepository, both dialects): never
 * more than the cap live, distinct, below the cap, all of them taken when the
 * scope is nearly full, none when it is full, and with a large cap
 * (WHALEFALL_CONNECTIONS_TOTAL up to 4,096) picked without enumerating every
 * number below it (PostgreSQL: random guesses, then the lowest free ones).
 * Connections ending together free their slots in a few statements.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { sql } from 'kysely';
import { ConnectionSlots, type Slot } from '../../src/services/connection-slots.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { freeNumbers, SlotsRepository } from '../../src/store/slots.repository.js';
import { forEachStore } from '../helpers/context.js';

forEachStore('connection slot numbers', (get) => {
  let repo: SlotsRepository;
  const now = () => new Date().toISOString();
  const later = () => new Date(Date.now() + 60_000).toISOString();
  const live = async (scope: string) =>
    (await repo.held(scope))
      .filter((r) => r.expires_at >= now())
      .map((r) => r.slot)
      .sort((a, b) => a - b);
  /** `count` live slots of `scope`, numbers from `from`, one holder each. */
  const fill = async (scope: string, from: number, count: number) => {
    for (let n = from; n < from + count; n++) assert.ok(await repo.take(scope, n, `filler:${scope}:${n}`, 'test', now(), later()));
  };

  before(() => {
    repo = new SlotsRepository(get().store.db, get().store.dialect);
  });

  it('takeSome in a nearly full scope takes exactly the free numbers; in a full one none', async () => {
    await fill('t:dense', 0, 3); // 0, 1, 2 of cap 5
    const got = await repo.takeSome('t:dense', 5, 4, 'me:dense', 'test', now(), later());
    assert.deepEqual(
      got.sort((a, b) => a - b),
      [3, 4],
      'the two free numbers, not more than the cap',
    );
    assert.deepEqual(await live('t:dense'), [0, 1, 2, 3, 4]);
    assert.deepEqual(await repo.takeSome('t:dense', 5, 2, 'me:dense2', 'test', now(), later()), [], 'full');
  });

  it('a large cap: distinct free numbers below it, the live ones untouched', async () => {
    await fill('t:wide', 0, 300);
    const got = await repo.takeSome('t:wide', 4096, 16, 'me:wide', 'test', now(), later());
    assert.equal(got.length, 16);
    assert.equal(new Set(got).size, 16, 'distinct');
    assert.ok(
      got.every((n) => n >= 300 && n < 4096),
      `free and below the cap: ${got.join(',')}`,
    );
    const one = await repo.takeOneEach(
      [
        { scope: 'instance:t1', cap: 2 },
        { scope: 't:wide', cap: 4096 },
      ],
      'me:each',
      'test',
      now(),
      later(),
    );
    assert.equal(one.length, 2, 'one in each scope');
    assert.ok(!got.includes(one.find((x) => x.scope === 't:wide')!.slot) && one.find((x) => x.scope === 't:wide')!.slot >= 300);
    assert.equal((await live('t:wide')).length, 317);
  });

  it('a large cap nearly full: exactly the free numbers', async () => {
    await fill('t:wide-dense', 0, 298); // of 300: above the caps that are enumerated
    assert.deepEqual(
      (await repo.takeSome('t:wide-dense', 300, 4, 'me:wd', 'test', now(), later())).sort((a, b) => a - b),
      [298, 299],
    );
    assert.deepEqual(await repo.takeSome('t:wide-dense', 300, 1, 'me:wd2', 'test', now(), later()), [], 'full');
  });

  it('takeOneEach takes nothing when one scope is full', async () => {
    await fill('instance:t2', 0, 2);
    const none = await repo.takeOneEach(
      [
        { scope: 'instance:t2', cap: 2 },
        { scope: 't:free', cap: 64 },
      ],
      'me:full',
      'test',
      now(),
      later(),
    );
    assert.deepEqual(none, []);
    assert.deepEqual(await live('t:free'), []);
  });

  it('takeOneEach with a guess: the guessed numbers when free; otherwise a free one, the expired taken over, a lowered cap kept', async () => {
    const each = (holder: string, scope: string, guesses: [number, number], cap = 64) =>
      repo.takeOneEach(
        [
          { scope: `instance:g-${holder}`, cap: 2, guess: guesses[0] },
          { scope, cap, guess: guesses[1] },
        ],
        `me:${holder}`,
        'test',
        now(),
        later(),
      );
    const slotOf = (got: { scope: string; slot: number }[], scope: string) => got.find((g) => g.scope === scope)?.slot;
    // Free: exactly the numbers guessed, not the lowest free (0).
    const a = await each('a', 't:g1', [1, 7]);
    assert.deepEqual([slotOf(a, 'instance:g-a'), slotOf(a, 't:g1')], [1, 7]);
    // Another holder's live number: the full statement picks a free one instead (SQLite the lowest, PostgreSQL at random).
    const b = await each('b', 't:g1', [0, 7]);
    assert.equal(b.length, 2);
    assert.ok(slotOf(b, 't:g1') !== 7 && slotOf(b, 't:g1')! < 64);
    assert.equal((await live('t:g1')).length, 2);
    // A row whose lease ended is taken over by the guess.
    await repo.take('t:g2', 9, 'gone', 'test', new Date(Date.now() - 120_000).toISOString(), new Date(Date.now() - 60_000).toISOString());
    const c = await each('c', 't:g2', [0, 9]);
    assert.equal(slotOf(c, 't:g2'), 9);
    assert.deepEqual(
      (await repo.held('t:g2')).map((r) => r.holder),
      ['me:c'],
    );
    // A cap lowered below a live number: no guess is taken, and the full statement counts the live slots.
    await fill('t:g3', 5, 1);
    await fill('t:g3', 1, 1); // live 1 and 5
    assert.deepEqual(await each('d', 't:g3', [0, 0], 2), [], 'two live against a cap of 2: none');
    assert.deepEqual(await live('t:g3'), [1, 5]);
    // Cap 3: room for one more (the full statement's count), below the cap.
    const e = await each('e', 't:g3', [0, 2], 3);
    assert.ok([0, 2].includes(slotOf(e, 't:g3')!));
    assert.equal((await live('t:g3')).length, 3);
    // A guess outside the cap is not asked: the full statement answers.
    const f = await each('f', 't:g4', [5, 2], 2);
    assert.ok(slotOf(f, 'instance:g-f')! < 2 && slotOf(f, 't:g4')! < 2);
  });

  it('PostgreSQL: a pick reads about the live slots, not every number below a cap of 4,096', async (t) => {
    if (get().store.dialect !== 'postgres') return t.skip('PostgreSQL only');
    await fill('t:plan', 0, 40);
    const plan = await sql<{ 'QUERY PLAN': unknown }>`EXPLAIN (ANALYZE, FORMAT JSON)
      WITH live AS (SELECT slot FROM connection_slots WHERE scope = 't:plan' AND expires_at >= ${now()}::timestamptz)
      ${freeNumbers(sql`live`, 4096, 1)}`.execute(get().store.db);
    // Rows the plan's function scans (the candidate numbers) produced: the guesses and the first live + 1 numbers.
    const scanned = (node: { 'Node Type': string; 'Actual Rows': number; 'Actual Loops': number; Plans?: unknown[] }): number =>
      (node['Node Type'] === 'Function Scan' ? node['Actual Rows'] * node['Actual Loops'] : 0) +
      (node.Plans ?? []).reduce<number>((a, p) => a + scanned(p as typeof node), 0);
    const root = (plan.rows[0]!['QUERY PLAN'] as { Plan: Parameters<typeof scanned>[0] }[])[0]!.Plan;
    const rows = scanned(root);
    assert.ok(rows > 0 && rows <= 41 + 4, `candidate numbers read: ${rows} (enumerating the cap would read 4,096)`);
    const got = await repo.takeSome('t:plan', 4096, 1, 'me:plan', 'test', now(), later());
    assert.equal(got.length, 1);
    assert.ok(got[0]! >= 40);
  });
});

forEachStore('connection slots released together', (get) => {
  it('40 connections ending at once free their slots in a few statements, not 40; every slot is free after, and waiters get them', async () => {
    const repo = new SlotsRepository(get().store.db, get().store.dialect);
    let statements = 0;
    const counted = Object.assign(Object.create(repo) as SlotsRepository, {
      release: (holder: string) => (statements++, repo.release(holder)),
      releaseMany: (holders: string[]) => (statements++, repo.releaseMany(holders)),
    });
    const slots = new ConnectionSlots({ repo: counted, clock: systemClock, logger: createLogger('silent'), leaseMs: 60_000, heartbeatMs: 60_000 });
    const caps = (i: number) => [
      { scope: `t:rel:${i % 4}`, cap: 10 },
      { scope: 't:rel:global', cap: 40 },
    ];
    const held: Slot[] = [];
    for (let i = 0; i < 40; i++) held.push(await slots.acquire(caps(i), { purpose: 'test', waitMs: 0 }));
    assert.equal((await repo.held('t:rel:global')).length, 40, 'the estate scope is full');
    // One more waits for a slot: a release here wakes it.
    const waiting = slots.acquire(caps(0), { purpose: 'test', waitMs: 5_000 });
    await Promise.all(held.map((s) => s.release()));
    assert.ok(statements < 10, `${statements} release statements for 40 holders`);
    const next = await waiting;
    assert.deepEqual(
      (await repo.held('t:rel:global')).map((r) => r.holder),
      [next.holder],
      'the 40 are gone, the waiter holds one',
    );
    await next.release();
    assert.equal((await repo.held('t:rel:global')).length, 0);
  });
});

forEachStore('connection slot guesses', (get) => {
  it('a connection guesses the lowest number this process does not hold; two at once guess apart; a miss stops guessing in that scope', async () => {
    const repo = new SlotsRepository(get().store.db, get().store.dialect);
    const asked: (number | undefined)[][] = [];
    const recording = Object.assign(Object.create(repo) as SlotsRepository, {
      takeOneEach: (reqs: Parameters<SlotsRepository['takeOneEach']>[0], ...rest: [string, string, string, string]) => (
        asked.push(reqs.map((r) => r.guess)),
        repo.takeOneEach(reqs, ...rest)
      ),
    });
    const slots = new ConnectionSlots({ repo: recording, clock: systemClock, logger: createLogger('silent'), leaseMs: 60_000, heartbeatMs: 60_000 });
    const caps = (i: number) => [
      { scope: `instance:gs${i}`, cap: 2 },
      { scope: 't:gs:global', cap: 64 },
    ];
    const take = (i: number) => slots.acquire(caps(i), { purpose: 'test', waitMs: 1_000 });
    const numbers = async () => (await repo.held('t:gs:global')).map((r) => r.slot).sort((a, b) => a - b);
    const a = await take(1);
    const [b, c] = await Promise.all([take(2), take(3)]);
    assert.deepEqual(
      asked,
      [
        [0, 0],
        [0, 1],
        [0, 2],
      ],
      'the lowest numbers not held here, two at once apart',
    );
    assert.deepEqual(await numbers(), [0, 1, 2]);
    await b.release();
    const d = await take(4);
    assert.deepEqual(asked.at(-1), [0, 1], 'a released number is guessed again once its row is gone');
    // Another process takes the number this one would guess next: the guess misses, the full statement answers.
    assert.ok(await repo.take('t:gs:global', 3, 'other-process:1', 'test', new Date().toISOString(), new Date(Date.now() + 60_000).toISOString()));
    const e = await take(5);
    assert.deepEqual(asked.at(-1), [0, 3]);
    assert.equal((await numbers()).length, 5, 'taken all the same');
    const f = await take(6);
    assert.deepEqual(asked.at(-1), [undefined, undefined], 'no guess after a miss in the scope');
    for (const s of [a, c, d, e, f]) await s.release();
    assert.deepEqual(await numbers(), [3]);
  });
});
