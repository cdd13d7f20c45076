/**
 * Terminal escapes from scanned servers (issue 17, finding 12): a hostile PostgreSQL (the wire responder behind
 * the real `pg` driver) whose version, error texts and database name carry `ESC[2J` (clear screen), BEL,
 * U+202E (right-to-left override) and the 8-bit CSI U+009B. Whatever reaches the CLI's output (a real child
 * process: the bytes a terminal would get), the API and the log lines has none of them; the readable rest stays.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stripControl } from '../../src/lib/control-chars.js';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import { newTestApp, newTestContext, type TestApp, type TestContext, type Caller } from '../helpers/context.js';
import { startPgResponder, type PgResponder } from '../helpers/pg-responder.js';

const EVIL = '\x1b[2J\x07\u202e\x9b31m';
const VERSION = `16.4${EVIL} (evil build)`;
const QUERY_ERROR = `relation missing${EVIL} (query refused)`;
const LOGIN_ERROR = `no pg_hba.conf entry${EVIL} (login refused)`;
// What none of the outputs may contain: ESC, BEL, the C1 controls, the bidi overrides.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const BIN = path.resolve('test/helpers/whalefall.mjs');

function assertClean(what: string, text: string): void {
  const m = FORBIDDEN.exec(text.replace(/\r\n/g, '\n'));
  assert.equal(
    m,
    null,
    `${what} holds U+${m?.[0].codePointAt(0)!.toString(16).padStart(4, '0')} near ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 40), (m?.index ?? 0) + 20))}`,
  );
}

describe('control characters from monitored servers', () => {
  let versioned: PgResponder;
  let refusing: PgResponder;
  before(async () => {
    versioned = await startPgResponder({
      serverVersion: VERSION,
      handler: (sql) => (/server_version/.test(sql) ? undefined : { error: { code: 'XX000', message: QUERY_ERROR } }),
    });
    refusing = await startPgResponder({ handler: () => undefined, login: () => ({ code: '28000', message: LOGIN_ERROR, severity: 'FATAL' }) });
  });
  after(async () => {
    await versioned?.close();
    await refusing?.close();
  });

  it('stripControl: escapes whole, C0/C1/bidi out, tab and newline only where asked, every script kept', () => {
    assert.equal(stripControl(VERSION), '16.4 (evil build)');
    assert.equal(stripControl('a\x1b]8;;http://evil/\x07link\x1b]8;;\x07b'), 'alinkb');
    assert.equal(stripControl('x\x1bcy\x1b(Bz'), 'xyz');
    assert.equal(stripControl('line 1\nline\t2', { multiline: true }), 'line 1\nline\t2');
    assert.equal(stripControl('line 1\nline\t2'), 'line 1 line 2');
    assert.equal(stripControl('库 é 😀 \u05d0\u05d1'), '库 é 😀 \u05d0\u05d1');
  });

  describe('API and logs', () => {
    let ctx: TestContext;
    let app: TestApp;
    let operator: Caller;
    let good: number;
    let bad: number;
    before(async () => {
      ctx = await newTestContext('sqlite');
      ({
        app,
        callers: { operator },
      } = await newTestApp(ctx));
      const cred = await ctx.credentials.create({ name: 'c', username: 'collector', password: 'pw-control-1' }, CLI_ACTOR);
      good = (
        await ctx.instances.create(
          { name: 'evil-version', db_type: 'postgresql', host: versioned.host, port: versioned.port, credential_id: cred.id },
          CLI_ACTOR,
        )
      ).id;
      bad = (
        await ctx.instances.create({ name: 'evil-login', db_type: 'postgresql', host: refusing.host, port: refusing.port, credential_id: cred.id }, CLI_ACTOR)
      ).id;
    });
    after(async () => {
      await app?.close();
      await ctx?.cleanup();
    });

    it('test-connection answers the version and the login error without them; a failed sync stores and logs its error clean', async () => {
      const post = (url: string, body?: unknown) => app.inject({ method: 'POST', url, headers: operator.headers(true), payload: body ?? {} });
      const v = await post(`/api/instances/${good}/test-connection`);
      assert.equal(v.statusCode, 200, v.body);
      assert.equal(v.json().data.server_version, '16.4 (evil build)');
      assertClean('test-connection', v.body);
      const refused = await post(`/api/instances/${bad}/test-connection`);
      assert.notEqual(refused.statusCode, 200);
      assert.match(refused.json().error, /no pg_hba\.conf entry \(login refused\)/);
      assertClean('refused test-connection', refused.body);
      const many = await post('/api/instances/test-connection', { all: true });
      assert.equal(many.statusCode, 200, many.body);
      assertClean('bulk test-connection', many.body);

      const sync = await post(`/database-sizes/instances/${good}/sync-capacity`);
      assert.equal(sync.statusCode >= 400, true, sync.body);
      assert.match(sync.body, /relation missing \(query refused\)/);
      assertClean('failed sync', sync.body);
      const sessionId = sync.json().session_id as string;
      const session = await app.inject({ method: 'GET', url: `/api/sync-sessions/${sessionId}`, headers: operator.headers(false) });
      assert.equal(session.statusCode, 200, session.body);
      assertClean('sync session', session.body);
      const logged = ctx.logs.join('');
      assert.match(logged, /relation missing \(query refused\)|relation missing\(query refused\)/, 'the error was logged');
      assertClean(
        'log lines',
        logged.replace(/\\u00[01][0-9a-f]/gi, (m) => String.fromCharCode(parseInt(m.slice(2), 16))),
      );
    });

    it('the logger strips what any caller passes it (message, fields, errors)', () => {
      ctx.logs.length = 0;
      ctx.logger.warn({ db: `name${EVIL}`, err: new Error(`boom${EVIL}`) }, `msg${EVIL}`);
      const line = ctx.logs.join('');
      assert.match(line, /"msg":"msg"/);
      assert.match(line, /"db":"name"/);
      assert.match(line, /"message":"boom"/);
      assertClean(
        'log line',
        line.replace(/\\u00[01][0-9a-f]/gi, (m) => String.fromCharCode(parseInt(m.slice(2), 16))),
      );
    });
  });

  it('the CLI (a real process) prints the version, the errors and the tables without them', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-ctl-'));
    // Asynchronously: the responders answer from this process's event loop.
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
        const env = { ...process.env, WHALEFALL_DATA_DIR: dataDir, WHALEFALL_TZ: 'UTC', LOG_LEVEL: 'info', PW: 'pw-control-1', WHALEFALL_SYNC_RETRIES: '0' };
        const p = spawn(process.execPath, [BIN, ...args], { env });
        let out = '';
        let err = '';
        p.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
        p.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
        p.on('error', reject);
        p.on('close', (code) => resolve({ code, out, err }));
      });
    try {
      for (const [name, r] of [
        ['evil-version', versioned],
        ['evil-login', refusing],
      ] as const) {
        const add = await run([
          'instances',
          'add',
          '--name',
          name,
          '--type',
          'postgresql',
          '--host',
          r.host,
          '--port',
          String(r.port),
          '--username',
          'collector',
          '--password-env',
          'PW',
        ]);
        assert.equal(add.code, 0, add.err);
      }
      const outputs = [];
      for (const args of [
        ['instances', 'test', 'evil-version'],
        ['instances', 'test', 'evil-login'],
        ['instances', 'test-connection', '--all'],
        ['instances', 'test-connection', '--all', '--json'],
        ['sync', '--all'],
        ['doctor', '--instance', 'evil-version'],
      ]) {
        outputs.push(await run(args));
      }
      const all = outputs.map((o) => o.out + o.err).join('\n');
      assert.match(all, /16\.4 \(evil build\)/);
      assert.match(all, /no pg_hba\.conf entry \(login refused\)/);
      assert.match(all, /relation missing \(query refused\)/);
      for (const [i, o] of outputs.entries()) {
        assertClean(`command ${i} stdout`, o.out);
        assertClean(`command ${i} stderr (its log lines too)`, o.err);
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
