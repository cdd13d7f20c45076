/**
 * Flags as the CLI trial used them: `aggregate` with one end of a range, a bad `--date`; `processes --json` types;
 * usage errors (one line and where the help is, not the whole help) and `--version`.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
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

  it('a usage error is one line and where the help is; --version prints the package version', () =>
    withCli({ WHALEFALL_LANG: 'en' }, async (cli) => {
      const cases: [string[], RegExp, string][] = [
        [['instances', 'add', '--name', 'x', '--type', 'postgresql'], /^whalefall: required option '--host <host>' not specified$/, 'whalefall instances add'],
        [
          ['instances', 'add', '--name', 'x', '--type', 'postgres', '--host', 'h'],
          /^whalefall: option '--type <db_type>' argument 'postgres' is invalid/,
          'whalefall instances add',
        ],
        [['tokens', 'create'], /^whalefall: required option '--user <username>' not specified$/, 'whalefall tokens create'],
        [['sync', '--bogus'], /^whalefall: unknown option '--bogus'$/, 'whalefall sync'],
      ];
      for (const [args, reason, cmd] of cases) {
        const r = await cli(args);
        assert.equal(r.code, 1, args.join(' '));
        const lines = r.err.trimEnd().split('\n');
        assert.equal(lines.length, 2, r.err);
        assert.match(lines[0]!, reason);
        assert.equal(lines[1], `(see ${cmd} --help)`);
      }
      const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
      for (const flag of ['--version', '-V']) {
        const r = await cli([flag]);
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out.trim(), version);
      }
    }));

  it('sync --tables: a failed instance has its reason under "error", not under "cut"', () =>
    withCli({ WHALEFALL_LANG: 'en' }, async (cli) => {
      assert.equal((await cli(['instances', 'add', '--name', 'x10', '--type', 'postgresql', '--host', '127.0.0.1'])).code, 0);
      const r = await cli(['sync', '--tables', '--instance', 'x10']);
      const [header, , row] = r.out.split('\n');
      assert.match(header!, / cut +error$/);
      assert.equal(row!.indexOf('The instance has no credential'), header!.indexOf('error'), r.out);
    }));
});
