/**
 * Files private whatever the umask (issue 17, finding 11): `whalefall serve` started under umask 022 leaves
 * the data dir 0700 and the store, its WAL and shared-memory files and secret.key 0600; a data dir left
 * 0755 by an older version is tightened; `whalefall backup` writes 0600.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const BIN = path.resolve('bin/whalefall.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Run the CLI in a shell with umask 022 (what `npm start` gets from a login shell). */
function underUmask022(args: string[], env: Record<string, string>) {
  return spawn('/bin/sh', ['-c', 'umask 022; exec "$@"', 'sh', process.execPath, BIN, ...args], {
    env: { ...process.env, WHALEFALL_TZ: 'UTC', WHALEFALL_SCHEDULER: 'off', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('file modes under umask 022', () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-modes-'));
  after(() => fs.rmSync(parent, { recursive: true, force: true }));

  for (const [title, prepare] of [
    ['a new data dir', (dir: string) => dir],
    [
      'a data dir and store left world-readable by an older version',
      (dir: string) => {
        fs.mkdirSync(dir, { mode: 0o755 });
        fs.chmodSync(dir, 0o755);
        fs.writeFileSync(path.join(dir, 'whalefall.db'), '');
        fs.chmodSync(path.join(dir, 'whalefall.db'), 0o644);
        return dir;
      },
    ],
  ] as const) {
    it(`serve: ${title} ends 0700, the store, -wal, -shm and secret.key 0600; backup 0600`, async () => {
      const dataDir = prepare(path.join(parent, title.replace(/\W+/g, '-')));
      const port = await freePort();
      const child = underUmask022(['serve'], { WHALEFALL_DATA_DIR: dataDir, PORT: String(port), WHALEFALL_ADMIN_PASSWORD: 'Admin-Secret-1' });
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise((r) => child.on('exit', r));
      try {
        for (let i = 0; !/listening on/.test(out); i++) {
          if (i > 600) throw new Error(`serve did not start:\n${out}`);
          await sleep(50);
        }
        // a write, so the WAL has content
        const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password: 'Admin-Secret-1' }),
        });
        assert.equal(login.status, 200);
        const db = path.join(dataDir, 'whalefall.db');
        const modes = Object.fromEntries([dataDir, db, `${db}-wal`, `${db}-shm`, path.join(dataDir, 'secret.key')].map((p) => [path.basename(p), mode(p)]));
        assert.deepEqual(modes, {
          [path.basename(dataDir)]: '700',
          'whalefall.db': '600',
          'whalefall.db-wal': '600',
          'whalefall.db-shm': '600',
          'secret.key': '600',
        });
        const backup = path.join(parent, `${path.basename(dataDir)}.backup.db`);
        const b = underUmask022(['backup', backup], { WHALEFALL_DATA_DIR: dataDir });
        let bout = '';
        b.stdout!.on('data', (c: Buffer) => (bout += c.toString()));
        b.stderr!.on('data', (c: Buffer) => (bout += c.toString()));
        const code = await new Promise((r) => b.on('exit', r));
        assert.equal(code, 0, bout);
        assert.equal(mode(backup), '600');
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });
  }
});
