/**
 * Stopping the queue leaves no timer behind: the bound on waiting for running
 * jobs (30 s by default) used to stay pending after they had ended, so a
 * process that closed its context (a worker refused at start by the estate
 * check, a test file) lived on for the whole bound. No connection is made:
 * a queue that never started stops at once.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLogger } from '../../src/lib/logger.js';
import { PgBossQueue } from '../../src/scheduler/pgboss.queue.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

it('stop() with nothing running returns at once and leaves no pending timer', async () => {
  const queue = new PgBossQueue('postgres://nobody@127.0.0.1:1/none', createLogger('silent'), { maintenanceSeconds: 60 });
  const before = timers();
  const t0 = performance.now();
  await queue.stop(60_000);
  assert.ok(performance.now() - t0 < 1000, 'did not wait for the bound');
  assert.equal(timers(), before, 'the bound was cleared');
});
