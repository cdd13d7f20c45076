/**
 * With WHALEFALL_LANG=en the server's messages the CLI prints come out in English wherever it prints them:
 * `instances test-connection --json`, `instances list --json` (`last_sync_error`) and `sync`'s warning lines on
 * stderr (they were Chinese next to an English table). The JSON keeps each message's key.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closedPort } from '../helpers/targets.js';

const BIN = path.resolve('test/helpers/whalefall.mjs');
const CHINESE = /[\u4e00-\u9fff]/;

describe('the CLI language in JSON output and log lines', () => {
  let dir: string;
  const run = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        WHALEFALL_DATA_DIR: dir,
        WHALEFALL_TZ: 'UTC',
        WHALEFALL_SCHEDULER: 'off',
        LOG_LEVEL: '',
        LANG: 'C.UTF-8',
        LC_ALL: '',
        WHALEFALL_SYNC_RETRIES: '1',
        WHALEFALL_RETRY_BASE_DELAY_MS: '0',
        WHALEFALL_CONNECT_TIMEOUT_MS: '1500',
        PW: 'x',
        ...env,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-cli-lang-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('test-connection --json, list --json and sync warnings follow WHALEFALL_LANG', async () => {
    const port = await closedPort();
    const add = run([
      'instances',
      'add',
      '--name',
      'down',
      '--type',
      'postgresql',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--username',
      'u',
      '--password-env',
      'PW',
    ]);
    assert.equal(add.code, 0, add.err);

    const en = { WHALEFALL_LANG: 'en' };
    const tc = run(['instances', 'test-connection', 'down', '--json'], en);
    assert.equal(tc.code, 1);
    const [row] = JSON.parse(tc.out) as { error: string; error_msg: { key: string } }[];
    assert.ok(row!.error && !CHINESE.test(row!.error), row!.error);
    assert.equal(typeof row!.error_msg.key, 'string');

    const sync = run(['sync', '--instance', 'down'], en);
    assert.equal(sync.code, 1);
    const warns = sync.err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; error?: string; error_msg?: { key: string } });
    assert.ok(
      warns.some((w) => w.msg === 'capacity sync failed'),
      sync.err,
    );
    for (const w of warns.filter((x) => x.error)) {
      assert.ok(!CHINESE.test(w.error!), w.error);
      assert.equal(typeof w.error_msg?.key, 'string', 'the key beside the text');
    }

    const [inst] = JSON.parse(run(['instances', 'list', '--json'], en).out) as { last_sync_error: string; last_sync_error_key: string }[];
    assert.ok(inst!.last_sync_error && !CHINESE.test(inst!.last_sync_error), inst!.last_sync_error);
    assert.equal(typeof inst!.last_sync_error_key, 'string');
    // Chinese where the CLI's language is Chinese (C locale, no WHALEFALL_LANG).
    const [zh] = JSON.parse(run(['instances', 'list', '--json']).out) as { last_sync_error: string }[];
    assert.match(zh!.last_sync_error, CHINESE);
  });
});
