/**
 * The record runner with in-memory fakes: retries and backoff, cancel and
 * shutdown (before and during a run), a busy lock, a dead holder's lock taken
 * over, the lease, and a failure's record. No server, no network, no sleeps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyncError } from '../../src/lib/errors.js';
import { HOST } from '../../src/lib/process-tag.js';
import { Aborted } from '../../src/services/connection.service.js';
import { msg, msgText } from '../../src/client/shared/i18n/index.js';
import { MSG } from '../../src/services/sync/messages.js';
import { backoffMs, leaseMs } from '../../src/services/sync/record-runner.js';
import { collection, instanceRow, newTestRunner, params, recordRow, T0 } from './fakes.js';

function setup(opts: { stopping?: boolean } = {}) {
  const t = newTestRunner(opts);
  const record = recordRow();
  t.mocks.sync.records.set(record.id, { ...record }); // the stored row; `record` is the caller's snapshot, as from the store
  return { ...t, record, inst: instanceRow() };
}

describe('record runner: retries', () => {
  it('retries a transient failure with backoff, then completes; the lock is released by the save', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.connections.steps = [new SyncError('connection', 'ECONNREFUSED'), new SyncError('timeout', 'slow'), collection(['a', 'b', 'c'])];
    const o = await sut.runLocked(record, inst, params({ retries: 2, retryBaseDelayMs: 1000 }));
    assert.equal(o.status, 'completed');
    assert.equal(o.attempt, 3);
    assert.equal(o.counts?.saved, 3);
    assert.equal(mocks.sleeps.length, 2);
    assert.ok(mocks.sleeps[0]! >= 800 && mocks.sleeps[0]! <= 1200, `first backoff ${mocks.sleeps[0]}`);
    assert.ok(mocks.sleeps[1]! >= 1600 && mocks.sleeps[1]! <= 2400, `second backoff ${mocks.sleeps[1]}`);
    assert.equal(mocks.sync.locks.size, 0, 'lock released');
    assert.equal(mocks.sync.records.get(record.id)?.status, 'completed');
  });

  it('gives up after `retries` and records the last error, password scrubbed', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.connections.steps = [new SyncError('connection', 'refused for password s3cret-pw')];
    const o = await sut.runLocked(record, inst, params({ retries: 1 }));
    assert.equal(o.status, 'failed');
    assert.equal(o.error_code, 'connection');
    assert.equal(o.attempt, 2);
    assert.equal(mocks.sleeps.length, 1);
    assert.ok(!o.error_message?.includes('s3cret-pw'), o.error_message);
    assert.deepEqual(
      mocks.syncResults.map((r) => r.status),
      ['failed'],
    );
    assert.equal(mocks.sync.locks.size, 0, 'a failed record releases the lock');
  });

  it('does not retry what will fail the same way again (auth, data)', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.connections.steps = [new SyncError('auth', 'bad password')];
    const o = await sut.runLocked(record, inst, params({ retries: 3 }));
    assert.equal(o.status, 'failed');
    assert.equal(o.error_code, 'auth');
    assert.equal(mocks.sleeps.length, 0);
  });

  it('an empty collection fails as data: nothing is saved, nothing marked deleted', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.connections.steps = [collection([])];
    const o = await sut.runLocked(record, inst, params());
    assert.equal(o.status, 'failed');
    assert.equal(o.error_code, 'data');
    assert.equal(o.error_message, msgText(MSG.empty));
    assert.equal(mocks.capacity.saves.length, 0);
  });

  it('an unexpected error is recorded as internal, never thrown', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.connections.steps = [new TypeError('boom')];
    const o = await sut.runLocked(record, inst, params());
    assert.equal(o.error_code, 'internal');
    assert.match(o.error_message ?? '', /boom/);
  });

  it('unmeasured databases become a warning on the record and the instance', async () => {
    const { sut, mocks, record, inst } = setup();
    const c = collection(['a', 'b']);
    c.databases[1]!.size_bytes = null;
    mocks.connections.steps = [c];
    const o = await sut.runLocked(record, inst, params());
    assert.equal(o.status, 'completed');
    assert.deepEqual(o.warnings, [msgText(MSG.unmeasured(1, ['b']))]);
    assert.equal(mocks.capacity.saves[0]?.done.instanceError, msgText(MSG.unmeasured(1, ['b'])));
    assert.deepEqual(mocks.capacity.saves[0]?.done.instanceErrorMsg, MSG.unmeasured(1, ['b']), 'the instance keeps the warning by key');
  });

  it("several warnings: the instance's keyed message renders every one in each language; an engine's plain line is kept as it is", async () => {
    const { sut, mocks, record, inst } = setup();
    const c = collection(['a', 'b']);
    c.databases[1]!.size_bytes = null;
    c.warnings = [msg('api.sync.warn.mysql_physical_scope'), 'plain engine line'];
    mocks.connections.steps = [c];
    const o = await sut.runLocked(record, inst, params());
    assert.equal(o.status, 'completed');
    const done = mocks.capacity.saves[0]!.done;
    const m = done.instanceErrorMsg!;
    assert.equal(m.key, 'api.sync.warning_list');
    assert.equal(msgText(m), done.instanceError, 'zh-CN: the same text as last_sync_error');
    assert.equal(
      msgText(m, 'en'),
      'The physical method does not count non-InnoDB tables or tables in shared tablespaces; plain engine line; 1 database(s) could not be measured: b',
    );
    assert.ok(!/[\u4e00-\u9fff]/.test(msgText(m, 'en')), 'no Chinese in the English rendering');
    assert.equal(JSON.stringify(JSON.parse(JSON.stringify(m))), JSON.stringify(m), 'stored as JSON as it is');
  });
});

describe('record runner: cancel and shutdown', () => {
  it('a record of a cancelled session is skipped before it starts, without taking the lock', async () => {
    const { sut, mocks, record, inst } = setup();
    const ctrl = new AbortController();
    ctrl.abort('cancelled');
    const o = await sut.runLocked(record, inst, params(), ctrl.signal);
    assert.equal(o.status, 'skipped');
    assert.equal(o.error_code, 'cancelled');
    assert.equal(mocks.connections.calls, 0);
    assert.equal(mocks.sync.records.get(record.id)?.status, 'skipped');
    assert.equal(mocks.sync.locks.size, 0);
  });

  it('a stopping process skips records not started (interrupted)', async () => {
    const { sut, mocks, record, inst } = setup({ stopping: true });
    const o = await sut.runLocked(record, inst, params());
    assert.equal(o.error_code, 'interrupted');
    assert.equal(o.error_message, msgText(MSG.shutdownSkip));
    assert.equal(mocks.connections.calls, 0);
  });

  it('a cancel during the collection aborts it: failed (cancelled), nothing saved, lock released', async () => {
    const { sut, mocks, record, inst } = setup();
    const ctrl = new AbortController();
    mocks.connections.steps = [
      (signal) =>
        new Promise((_, reject) => {
          signal?.addEventListener('abort', () => reject(new Aborted('cancelled')));
          queueMicrotask(() => ctrl.abort('cancelled'));
        }),
    ];
    const o = await sut.runLocked(record, inst, params(), ctrl.signal);
    assert.equal(o.status, 'failed');
    assert.equal(o.error_code, 'cancelled');
    assert.equal(o.error_message, msgText(MSG.cancelledAbort));
    assert.equal(mocks.capacity.saves.length, 0);
    assert.equal(mocks.sync.locks.size, 0);
  });

  it('a shutdown between collecting and saving saves nothing (interrupted)', async () => {
    const { sut, mocks, record, inst } = setup();
    const ctrl = new AbortController();
    mocks.connections.steps = [
      async () => {
        ctrl.abort('shutdown');
        return collection();
      },
    ];
    const o = await sut.runLocked(record, inst, params(), ctrl.signal);
    assert.equal(o.error_code, 'interrupted');
    assert.equal(o.error_message, msgText(MSG.shutdownAbort));
    assert.equal(mocks.capacity.saves.length, 0);
  });

  it('a record a cancel skipped first is not claimed (the lock is not kept)', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.sync.records.get(record.id)!.status = 'skipped';
    mocks.connections.steps = [collection()];
    const o = await sut.runLocked(record, inst, params());
    assert.equal(o.status, 'skipped');
    assert.equal(o.error_code, 'cancelled');
    assert.equal(mocks.connections.calls, 0);
    assert.equal(mocks.sync.locks.size, 0);
  });
});

describe('record runner: lock and lease', () => {
  it('a lock held by a live holder: skipped as busy', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.sync.locks.set(inst.id, { holder: 'other-host:1:aaaa', expires_at: '2999-01-01T00:00:00.000Z' });
    const o = await sut.runLocked(record, inst, params());
    assert.equal(o.status, 'skipped');
    assert.equal(o.error_message, msgText(MSG.busy(inst.name)));
    assert.equal(mocks.sync.locks.get(inst.id)?.holder, 'other-host:1:aaaa', 'the other holder keeps it');
  });

  it("a dead process's lock on this host is taken over at once", async () => {
    const { sut, mocks, record, inst } = setup();
    const dead = `${HOST}:${process.pid}:deadbeef:0000`; // this pid, another process tag: a previous life of this process
    mocks.sync.locks.set(inst.id, { holder: dead, expires_at: '2999-01-01T00:00:00.000Z' });
    mocks.connections.steps = [collection()];
    const o = await sut.runLocked(record, inst, params());
    assert.equal(o.status, 'completed');
    assert.equal(mocks.sync.locks.size, 0);
  });

  it('an expired lease is taken like a free lock', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.sync.locks.set(inst.id, { holder: 'other-host:1:aaaa', expires_at: '2000-01-01T00:00:00.000Z' });
    mocks.connections.steps = [collection()];
    assert.equal((await sut.runLocked(record, inst, params())).status, 'completed');
  });

  it('the lock is taken for the shorter of the worst case and the renewed lease (issue #16: renewed while the work runs)', async () => {
    const { sut, mocks, inst } = setup();
    const p = params({ connectTimeoutMs: 5000, syncTimeoutMs: 10_000, retries: 2, retryBaseDelayMs: 1000 });
    assert.equal(leaseMs(p), 15_000 * 3 + (1000 + 2000) * 1.2 + 10_000);
    assert.equal(await sut.lock(inst.id, 'h', p), true);
    assert.equal(mocks.sync.locks.get(inst.id)?.expires_at, new Date(T0.getTime() + Math.min(leaseMs(p), 45_000)).toISOString());
  });

  it('the connection slot is asked for with the lock, before the lock answers, and the collection runs on it', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.connections.steps = [collection()];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const acquire = mocks.sync.acquireLock.bind(mocks.sync);
    mocks.sync.acquireLock = async (...a: Parameters<typeof acquire>) => {
      await gate;
      return acquire(...a);
    };
    const run = sut.runLocked(record, inst, params());
    await new Promise((r) => setImmediate(r));
    assert.equal(mocks.connections.ahead.length, 1, 'asked for while the lock is still on its way');
    open();
    assert.equal((await run).status, 'completed');
    assert.deepEqual(mocks.connections.aheadUsed, [true]);
    assert.deepEqual(mocks.connections.ahead, [{ released: true, aborted: false }], 'freed once, by its collection');
  });

  it('a busy lock frees the slot asked for ahead; a slot still waited for is no longer waited for', async () => {
    for (const waiting of [false, true]) {
      const { sut, mocks, record, inst } = setup();
      if (waiting) mocks.connections.slotGate = new Promise(() => {}); // the instance's connections are all in use
      mocks.sync.locks.set(inst.id, { holder: 'other-host:1:aaaa', expires_at: '2999-01-01T00:00:00.000Z' });
      const o = await sut.runLocked(record, inst, params());
      assert.equal(o.status, 'skipped');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(mocks.connections.ahead, [{ released: !waiting, aborted: waiting }], waiting ? 'the wait ended' : 'freed');
      assert.equal(mocks.connections.calls, 0);
    }
  });

  it('a store error while taking the lock frees the slot asked for ahead (the error is thrown as before)', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.sync.acquireLock = async () => {
      throw new Error('store unreachable');
    };
    await assert.rejects(sut.runLocked(record, inst, params()), /store unreachable/);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(mocks.connections.ahead, [{ released: true, aborted: false }]);
    assert.equal(mocks.connections.calls, 0);
  });

  it('a record that fails before connecting frees the slot asked for ahead', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.connections.targetError = new Error('credential unreadable');
    const o = await sut.runLocked(record, inst, params({ retries: 0 }));
    assert.equal(o.status, 'failed');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(mocks.connections.ahead, [{ released: true, aborted: false }]);
    assert.deepEqual(mocks.connections.aheadUsed, []);
  });

  it('a retry asks for its connection slot anew (the one asked for ahead was the first attempt’s)', async () => {
    const { sut, mocks, record, inst } = setup();
    mocks.connections.steps = [new SyncError('connection', 'ECONNREFUSED'), collection()];
    assert.equal((await sut.runLocked(record, inst, params({ retries: 1 }))).status, 'completed');
    assert.deepEqual(mocks.connections.aheadUsed, [true, false]);
    assert.deepEqual(mocks.connections.ahead, [{ released: true, aborted: false }]);
  });

  it('a disabled instance is skipped, not synced', async () => {
    const { sut, mocks, record } = setup();
    const o = await sut.runLocked(record, instanceRow({ is_active: 0 }), params());
    assert.equal(o.status, 'skipped');
    assert.equal(o.error_message, msgText(MSG.disabled));
    assert.equal(mocks.connections.calls, 0);
  });

  it('backoff: base × 2^(n-1) within ±20 %', () => {
    for (let n = 1; n <= 5; n++) {
      for (let k = 0; k < 50; k++) {
        const d = backoffMs(500, n);
        assert.ok(d >= 0.8 * 500 * 2 ** (n - 1) - 1 && d <= 1.2 * 500 * 2 ** (n - 1) + 1, `${n}: ${d}`);
      }
    }
  });
});
