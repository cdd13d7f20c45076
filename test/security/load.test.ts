/**
 * Bounded load (the long run is `npm run soak`): 100 autocannon clients on
 * the instance list and statistics APIs of a listening server for a few
 * seconds while capacity sessions of 200 instances run back to back. No
 * error, no timeout, no non-2xx answer, every sync record completed; p99 and
 * RSS printed (the lead copies p99 into BENCHMARKS.md from an idle machine).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runLoad } from '../../bench/load.js';

describe('load', () => {
  it('100 clients on the read APIs during a 200-instance sync: 0 errors', { timeout: 120_000 }, async () => {
    const seconds = Number(process.env.LOAD_TEST_SECONDS ?? 8);
    const r = await runLoad({ instances: 200, databases: 10, historyDays: 14, connections: 100, durationSec: seconds });
    console.log(
      `load: ${r.requests} requests in ${seconds} s (${r.rps}/s) from 100 clients; errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}; ` +
        `latency p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms; ${r.sessions.completed} sync session(s) of 200 instances (${r.sessions.completedRecords} records completed, ${r.sessions.failedRecords} failed); ` +
        `RSS ${r.rssBeforeMb} → ${r.rssAfterMb} MB`,
    );
    assert.ok(r.requests > 100, `only ${r.requests} requests`);
    assert.equal(r.errors, 0);
    assert.equal(r.timeouts, 0);
    assert.equal(r.non2xx, 0);
    assert.ok(r.sessions.completed >= 1, 'a sync session finished during the load');
    assert.equal(r.sessions.failedRecords, 0);
    assert.equal(r.sessions.completedRecords, 200 * r.sessions.completed);
  });
});
