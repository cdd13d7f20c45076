/**
 * The fleet commands as a user runs them (child processes on a temp data dir):
 * import with errors (exit 1, table with row and column, nothing stored),
 * --partial, --dry-run, export round trip, list --tag, bulk test-connection
 * with its table and exit status, discover on 127.0.0.1 into an import file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closedPort } from '../helpers/targets.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');

describe('whalefall instances import / export / test-connection / discover', () => {
  let dir: string;
  const run = (args: string[], input?: string, lang: Record<string, string> = { LANG: 'C.UTF-8', LC_ALL: '', LC_MESSAGES: '', WHALEFALL_LANG: '' }) => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        ...lang,
        WHALEFALL_DATA_DIR: dir,
        WHALEFALL_TZ: 'UTC',
        WHALEFALL_SCHEDULER: 'off',
        LOG_LEVEL: '',
        WHALEFALL_CONNECT_TIMEOUT_MS: '1500',
      },
      input,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-fleet-cli-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('import: errors with row and column and exit 1; --dry-run; --partial; export → import changes nothing', async () => {
    assert.equal(
      run(['instances', 'add', '--name', 'seed', '--type', 'postgresql', '--host', '127.0.0.1', '--username', 'postgres', '--password-stdin'], 'x\n').code,
      0,
    );
    const dead = await closedPort();
    const file = path.join(dir, 'fleet.csv');
    fs.writeFileSync(
      file,
      [
        'name,db_type,host,port,credential,tags',
        'pg-1,postgresql,127.0.0.1,5432,seed-credential,env:prod;team:a',
        'my-1,mariadb,127.0.0.1,3306,,env:prod',
        `gone,postgresql,127.0.0.1,${dead},seed-credential,env:prod`,
        'bad,postgresql,127.0.0.1,99999,nope,',
        '',
      ].join('\n'),
    );
    let r = run(['instances', 'import', file]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^5 +5 +4 +port +.*65535/m);
    assert.match(r.out, /^5 +5 +5 +credential +.*unknown credential name/m);
    assert.doesNotMatch(r.out, /"nope"/, 'the cell is not quoted back');
    assert.match(r.err, /nothing imported/);
    assert.match(r.out, /没有这个名称的凭据/, "no locale (C): the seed's Chinese");
    // The row errors in the CLI's language (issue #20 item 2): an English locale, or WHALEFALL_LANG over it.
    const en = run(['instances', 'import', file], undefined, { LANG: 'en_US.UTF-8', LC_ALL: '', LC_MESSAGES: '', WHALEFALL_LANG: '' });
    assert.match(en.out, /^5 +5 +5 +credential +no credential has this name \(see GET \/api\/credentials\)$/m);
    assert.match(en.out, /^5 +5 +4 +port +must be an integer from 1 to 65535$/m);
    assert.doesNotMatch(en.out, /[\u4e00-\u9fff]/, en.out);
    const zh = run(['instances', 'import', file], undefined, { LANG: 'en_US.UTF-8', LC_ALL: '', LC_MESSAGES: '', WHALEFALL_LANG: 'zh-CN' });
    assert.match(zh.out, /没有这个名称的凭据/);
    assert.equal(JSON.parse(run(['instances', 'list', '--json']).out).length, 1);
    // A dry run exits 1 when the real import would be refused (here: pg-1's server is registered, not confirmed).
    r = run(['instances', 'import', file, '--partial', '--dry-run', '--json']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^whalefall: dry run: the import would be refused: 1 row for servers already registered/);
    assert.equal(JSON.parse(r.out).created, 3);
    r = run(['instances', 'import', file, '--partial', '--confirm-duplicates', '--dry-run']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(run(['instances', 'list', '--json']).out).length, 1);
    // pg-1 is on the same server as `seed` (127.0.0.1:5432): stored only when confirmed.
    r = run(['instances', 'import', file, '--partial']);
    assert.equal(r.code, 1);
    assert.match(r.err, /already registered: nothing imported .*--confirm-duplicates/);
    r = run(['instances', 'import', file, '--partial', '--confirm-duplicates']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /3 created, 0 updated, 0 unchanged; 1 registered but not in the file/);
    assert.match(r.out, /missing \(use --disable-missing to disable them\): seed/);
    const yamlOut = path.join(dir, 'out.yaml');
    assert.equal(run(['instances', 'export', '--format', 'yaml', '--output', yamlOut]).code, 0);
    r = run(['instances', 'import', yamlOut]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /0 created, 0 updated, 4 unchanged/);
    const csv = run(['instances', 'export']).out;
    assert.ok(!csv.includes('"x"') && /seed-credential/.test(csv));
    assert.deepEqual(
      JSON.parse(run(['instances', 'list', '--tag', 'team:a', '--json']).out).map((i: { name: string }) => i.name),
      ['pg-1'],
    );
  });

  it('test-connection over a tag: a table, exit 1 when any failed', () => {
    const r = run(['instances', 'test-connection', '--tag', 'env:prod', '--concurrency', '2']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^gone +127\.0\.0\.1:\d+ +no /m);
    // No credential: never contacted, so not "unreachable" either.
    assert.match(r.out, /^my-1 +127\.0\.0\.1:3306 +— +— +— +— +\[no_credential\] 实例没有凭据，未连接/m);
    assert.match(r.out, /^pg-1 +127\.0\.0\.1:5432 +yes +yes +\d+/m);
    assert.match(r.out, /1\/3 connected/);
    const ok = run(['instances', 'test-connection', 'pg-1', '--json']);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(ok.out)[0].auth_ok, true);
    const none = run(['instances', 'test-connection', 'my-1', '--json'], undefined, { WHALEFALL_LANG: 'en' });
    assert.equal(none.code, 1);
    assert.deepEqual(
      (({ reachable, auth_ok, latency_ms, error_code, error }) => ({ reachable, auth_ok, latency_ms, error_code, error }))(JSON.parse(none.out)[0]),
      { reachable: null, auth_ok: null, latency_ms: null, error_code: 'no_credential', error: 'No credential: not contacted' },
    );
    const both = run(['instances', 'test-connection', 'pg-1', '--all']);
    assert.equal(both.code, 1);
    assert.match(both.err, /^whalefall: give instance names and\/or --tag, or --all, not both/);
    assert.match(run(['instances', 'test-connection']).err, /^whalefall: give instance names, --tag TAG or --all/);
  });

  it('discover 127.0.0.1 writes the unregistered ones as an import file', () => {
    const out = path.join(dir, 'found.csv');
    const r = run(['instances', 'discover', '127.0.0.1', '--ports', '5432,3306', '--output', out, '--credential', 'seed-credential']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /127\.0\.0\.1:5432 +postgresql .*(pg-1|seed)/);
    assert.match(r.out, /2 answered, 0 not registered/);
    assert.equal(fs.readFileSync(out, 'utf8').trim().split('\n').length, 1, 'header only: both are registered');
    const big = run(['instances', 'discover', '10.0.0.0/8']);
    assert.equal(big.code, 1);
    assert.match(big.err, /too many endpoints/);
  });
});
