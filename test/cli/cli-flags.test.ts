/**
 * Flags as the CLI trial used them: `aggregate` with one end of a range, a bad `--date`; `processes --json` types.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { withCli } from '../helpers/cli.js';

describe('whalefall CLI flags', () => {
  it('aggregate: one end of a range is refused, a bad date names its flag', () =>
    withCli({ WHALEFALL_LANG: 'en' }, async (cli) => {
      let r = await cli(['aggregate', '--from', '2026-12-01']);
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: --from needs --to \(a range has both ends; one day: --date\)/);
      r = await cli(['aggregate', '--to', '2026-12-05']);
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: --to needs --from/);
      r = await cli(['aggregate', '--date', '2026-02-30']);
      assert.equal(r.code, 1);
      assert.match(r.err, /^whalefall: --date: "2026-02-30" is not a valid date/);
      r = await cli(['aggregate', '--from', '2026-12-01', '--to', '2026-12-03', '--period', 'daily']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /daily +2026-12-01 +2026-12-03 +3 /);
    }));

  it('processes --json: works is a boolean', () =>
    withCli({ WHALEFALL_LANG: 'en' }, async (cli, dataDir) => {
      assert.equal((await cli(['migrate'])).code, 0);
      const db = new Database(path.join(dataDir, 'whalefall.db'));
      const now = new Date().toISOString();
      const beat = db.prepare(
        `INSERT INTO processes (tag, role, host, pid, version, started_at, last_seen_at, running_jobs, works) VALUES (?, ?, 'elsewhere', ?, '0.1.0', ?, ?, 0, ?)`,
      );
      beat.run('elsewhere:11:a', 'serve', 11, now, now, 1);
      beat.run('elsewhere:12:b', 'worker', 12, now, now, 0);
      db.close();
      const r = await cli(['processes', '--json']);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(
        (JSON.parse(r.out) as { pid: number; works: unknown }[]).map((p) => [p.pid, p.works]),
        [
          [11, true],
          [12, false],
        ],
      );
    }));
});
