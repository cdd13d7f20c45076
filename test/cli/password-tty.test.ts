/**
 * `--password-stdin` at a terminal (a pseudo-terminal made by python3's pty module): a "Password: " prompt, the
 * typed password not echoed, one line read (no Ctrl-D needed). Piped input is read as before (test/cli/cli.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const BIN = path.resolve('test/helpers/whalefall.mjs');

// Runs argv on a pseudo-terminal, types `typed` + Enter once "Password: " shows, and reports what the terminal
// showed and the exit code (null when the command still waited after 20 s and was killed).
const DRIVER = `
import json, os, select, subprocess, sys, time
argv, typed = json.loads(sys.argv[1]), sys.argv[2]
m, s = os.openpty()
p = subprocess.Popen(argv, stdin=s, stdout=s, stderr=s, close_fds=True)
os.close(s)
out, sent, deadline = b'', False, time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([m], [], [], 0.1)
    if r:
        try:
            chunk = os.read(m, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if not sent and b'Password: ' in out:
        os.write(m, typed.encode() + b'\\r')
        sent = True
    if p.poll() is not None and not r:
        break
try:
    code = p.wait(timeout=max(0.1, deadline - time.time()))
except subprocess.TimeoutExpired:
    code = None
    p.kill()
print(json.dumps({'code': code, 'out': out.decode('utf8', 'replace')}))
`;

describe('--password-stdin at a terminal', () => {
  let dir: string;
  const env = () => ({ ...process.env, WHALEFALL_DATA_DIR: dir, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off', LOG_LEVEL: '', WHALEFALL_LANG: 'en' });
  const onTty = (args: string[], typed: string) => {
    const r = spawnSync('python3', ['-c', DRIVER, JSON.stringify([process.execPath, BIN, ...args]), typed], { env: env(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { code: number | null; out: string };
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-cli-tty-'));
    const r = spawnSync(process.execPath, [BIN, 'users', 'add', 'carol'], { env: env(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prompts, does not echo, and reads one line', () => {
    const typed = 'Carol-Typed-Pass-77';
    const r = onTty(['users', 'passwd', 'carol', '--password-stdin'], typed);
    assert.equal(r.code, 0, `finished after Enter, without Ctrl-D: ${r.out}`);
    assert.match(r.out, /Password: /);
    assert.ok(!r.out.includes(typed), `the password is not shown: ${JSON.stringify(r.out)}`);
    assert.match(r.out, /password of carol changed/);
    // The line typed is the password used: a short one is refused by the password rules.
    const short = onTty(['users', 'passwd', 'carol', '--password-stdin'], 'short');
    assert.equal(short.code, 1, short.out);
    assert.match(short.out, /password: .*8/);
    assert.ok(!short.out.includes('short\r') && !/: short/.test(short.out));
  });
});
