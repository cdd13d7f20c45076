/**
 * A MariaDB of the test's own: a datadir under a temp folder
 * (mariadb-install-db), mariadbd on a free port and its own socket, extra
 * server flags (e.g. --log-bin). Stopped and removed by `stop()`. Waits for
 * the server to answer instead of sleeping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

export interface OwnMariadb {
  port: number;
  dir: string;
  admin(): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** `baseDir`: where the temp folder goes (e.g. /dev/shm, where creating tens of thousands of tables costs no fsync). */
export async function startMariadb(flags: string[] = [], timeoutMs = 60_000, baseDir = os.tmpdir()): Promise<OwnMariadb> {
  const dir = fs.mkdtempSync(path.join(baseDir, 'wf-mariadb-'));
  const datadir = path.join(dir, 'data');
  const user = os.userInfo().username;
  const init = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${datadir}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { encoding: 'utf8', timeout: timeoutMs },
  );
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const child: ChildProcess = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--user=${user}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${path.join(dir, 'mysqld.sock')}`,
      `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      ...flags,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const admin = () =>
    mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '', multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mariadbd exited: ${stderr.slice(-2000)}`);
    try {
      const c = await admin();
      await c.end();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`mariadbd did not answer in ${timeoutMs} ms: ${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    port,
    dir,
    admin,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
