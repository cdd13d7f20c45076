/**
 * whalefall.yaml: each mistake gets its own clear message naming the file
 * key; precedence flags > environment > file > defaults; every environment
 * variable of src/config.ts has a file key; `config check` prints the
 * effective configuration with secrets masked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config.js';
import { FILE_KEYS, readConfigFile, resolveConfig } from '../../src/config-file.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-config-'));
let n = 0;
function file(text: string): string {
  const f = path.join(dir, `whalefall-${++n}.yaml`);
  fs.writeFileSync(f, text);
  return f;
}
function mistakes(text: string): string[] {
  try {
    readConfigFile(file(text));
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n').map((l) => l.replace(/^.*?whalefall-\d+\.yaml: /, ''));
  }
  throw new Error('no mistake reported');
}

describe('whalefall.yaml', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a good file: values typed, relative data_dir resolved against the file', () => {
    const env = readConfigFile(
      file('port: 8080\nscheduler: false\ntime_zone: Asia/Shanghai\nsync_cron: "30 2 * * *"\ndata_dir: ./data\nqueue: local\nlog_level: warn\n'),
    );
    assert.deepEqual(env, {
      PORT: '8080',
      WHALEFALL_SCHEDULER: 'false',
      WHALEFALL_TZ: 'Asia/Shanghai',
      WHALEFALL_SYNC_CRON: '30 2 * * *',
      WHALEFALL_DATA_DIR: path.join(dir, 'data'),
      WHALEFALL_QUEUE: 'local',
      LOG_LEVEL: 'warn',
    });
  });

  it('unknown key → its message (with a suggestion when close)', () => {
    assert.deepEqual(mistakes('colour: blue\n'), ['unknown key "colour"']);
    assert.deepEqual(mistakes('syncCron: "0 3 * * *"\n'), ['unknown key "syncCron" (did you mean "sync_cron"?)']);
    assert.deepEqual(mistakes('WHALEFALL_TZ: UTC\n'), ['unknown key "WHALEFALL_TZ" (did you mean "time_zone"?)']);
  });

  it('wrong type → its message', () => {
    assert.deepEqual(mistakes('port: "eighty"\n'), ['port must be an integer, got string "eighty"']);
    assert.deepEqual(mistakes('port: 80.5\n'), ['port must be an integer, got number 80.5']);
    assert.deepEqual(mistakes('scheduler: "yes please"\n'), ['scheduler must be true or false, got string "yes please"']);
    assert.deepEqual(mistakes('host: [a, b]\n'), ['host must be a string, got a list']);
    assert.deepEqual(mistakes('port: 70000\n'), ['port must be an integer between 0 and 65535, got "70000"']);
    assert.deepEqual(mistakes('queue: rabbit\n'), ['queue must be local or pg-boss, got "rabbit"']);
    assert.deepEqual(mistakes('log_level: loud\n'), ['log_level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"']);
  });

  it('bad cron → its message', () => {
    const [m] = mistakes('sync_cron: "61 3 * * *"\n');
    assert.match(m!, /^sync_cron is not a valid cron expression: "61 3 \* \* \*"/);
    assert.match(mistakes('aggregation_cron: "every day"\n')[0]!, /^aggregation_cron is not a valid cron expression/);
  });

  it('unknown time zone → its message', () => {
    assert.deepEqual(mistakes('time_zone: Mars/Olympus_Mons\n'), ['time_zone is not a known time zone: "Mars/Olympus_Mons"']);
  });

  it('several mistakes → one message each, all at once; broken YAML is said so', () => {
    assert.deepEqual(
      mistakes('colour: blue\nport: "x"\ntime_zone: Nowhere/Land\nsync_cron: "* * *"\n').map((m) => m.split(':')[0]),
      ['unknown key "colour"', 'port must be an integer, got string "x"', 'time_zone is not a known time zone', 'sync_cron is not a valid cron expression'],
    );
    assert.match(mistakes('port: 1\nport: 2\n')[0]!, /not valid YAML/);
    assert.match(mistakes('- a\n- b\n')[0]!, /must be a mapping/);
  });

  it('precedence: flags > environment > file > defaults', () => {
    const f = file('port: 4000\nhost: 0.0.0.0\nsync_retries: 5\n');
    const r = resolveConfig({ configFile: f, env: { PORT: '5000', WHALEFALL_SYNC_RETRIES: '' }, flags: { HOST: '10.0.0.1' } });
    assert.equal(r.config.port, 5000);
    assert.equal(r.sources.PORT, 'env');
    assert.equal(r.config.host, '10.0.0.1');
    assert.equal(r.sources.HOST, 'flag');
    assert.equal(r.config.syncRetries, 5, 'an empty environment variable does not hide the file');
    assert.equal(r.sources.WHALEFALL_SYNC_RETRIES, 'file');
    assert.equal(r.config.syncConcurrency, 8);
    assert.equal(r.sources.WHALEFALL_SYNC_CONCURRENCY, 'default');
    // WHALEFALL_CONFIG names the file when --config does not.
    assert.equal(resolveConfig({ env: { WHALEFALL_CONFIG: f } }).config.port, 4000);
    // The environment's own mistakes keep their variable names.
    assert.throws(() => resolveConfig({ configFile: f, env: { WHALEFALL_TZ: 'Nowhere/Land' } }), /WHALEFALL_TZ is not a known time zone/);
  });

  it('mirrors every environment variable src/config.ts reads', () => {
    const src = fs.readFileSync('src/config.ts', 'utf8');
    const read = new Set([...src.matchAll(/env\.([A-Z_]+)|\(\s*env,\s*'([A-Z_]+)'/g)].map((m) => m[1] ?? m[2]!));
    assert.ok(read.size >= 25, `found ${read.size}`);
    const keyed = new Set(FILE_KEYS.map((k) => k.env));
    assert.deepEqual(
      [...read].filter((v) => !keyed.has(v)),
      [],
      'environment variables without a file key',
    );
    assert.deepEqual(
      [...keyed].filter((v) => !read.has(v)),
      [],
      'file keys for no environment variable',
    );
  });

  it('`whalefall config check` prints the effective configuration, secrets masked; mistakes exit 1 with every message', async () => {
    const f = file(
      'port: 4100\nsecret_key: "file-secret-key-0123456789"\ndatabase_url: "postgres://wf:db-pass-123@db.example/wf"\nmetrics_token: "tok-secret-999"\n',
    );
    const run = promisify(execFile);
    const env = { ...process.env, WHALEFALL_ADMIN_PASSWORD: 'admin-pass-777', PORT: '' };
    const { stdout } = await run(process.execPath, [BIN, '--config', f, 'config', 'check'], { env });
    assert.match(stdout, /configuration ok/);
    assert.match(stdout, /port\s+PORT\s+4100\s+file/);
    assert.match(stdout, /database_url\s+DATABASE_URL\s+postgres:\/\/wf@db\.example\/wf\s+file/);
    assert.match(stdout, /admin_password\s+WHALEFALL_ADMIN_PASSWORD\s+\*\*\*\s+env/);
    assert.match(stdout, /sync_concurrency\s+WHALEFALL_SYNC_CONCURRENCY\s+8\s+default/);
    for (const secret of ['file-secret-key', 'db-pass-123', 'tok-secret-999', 'admin-pass-777']) assert.ok(!stdout.includes(secret), `${secret} is masked`);
    // --json for scripts: numbers, booleans and lists as such, null when unset (they were all strings, "(unset)" or "").
    const json = await run(process.execPath, [BIN, '--config', f, 'config', 'check', '--json'], { env: { ...env, WHALEFALL_SMTP_URL: '' } });
    const settings = new Map((JSON.parse(json.stdout) as { settings: { env: string; value: unknown }[] }).settings.map((x) => [x.env, x.value]));
    assert.equal(settings.get('PORT'), 4100);
    assert.equal(settings.get('WHALEFALL_SCHEDULER'), true);
    assert.deepEqual(settings.get('WHALEFALL_WEBHOOK_ALLOW_NETWORKS'), []);
    assert.equal(settings.get('WHALEFALL_SMTP_URL'), null);
    assert.equal(settings.get('WHALEFALL_ADMIN_PASSWORD'), '***');
    assert.equal(settings.get('DATABASE_URL'), 'postgres://wf@db.example/wf');
    for (const secret of ['file-secret-key', 'db-pass-123', 'tok-secret-999', 'admin-pass-777'])
      assert.ok(!json.stdout.includes(secret), `${secret} is masked`);
    const bad = file('colour: blue\ntime_zone: Nowhere/Land\n');
    const err = await run(process.execPath, [BIN, '--config', bad, 'config', 'check'], { env }).then(
      () => assert.fail('exit 0 on a bad file'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.equal(err.stderr.trim().split('\n').length, 2, err.stderr);
    assert.match(err.stderr, /unknown key "colour"/);
    assert.match(err.stderr, /time_zone is not a known time zone/);
    // The environment's mistakes too, every one of them (the first one alone was said).
    const envBad = await run(process.execPath, [BIN, 'config', 'check'], {
      env: { ...env, PORT: 'abc', WHALEFALL_SYNC_CONCURRENCY: '-1', WHALEFALL_TZ: 'Mars/X' },
    }).then(
      () => assert.fail('exit 0 with bad variables'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(envBad.code, 1);
    assert.deepEqual(envBad.stderr.trim().split('\n'), [
      'whalefall: PORT must be an integer between 0 and 65535, got "abc"',
      'whalefall: WHALEFALL_TZ is not a known time zone: "Mars/X"',
      'whalefall: WHALEFALL_SYNC_CONCURRENCY must be an integer between 1 and 256, got "-1"',
    ]);
  });
});
