/**
 * Packaging: `npm pack` (running the `prepare` build step: tsc → dist/, the
 * client bundle) → install the tarball globally into a temporary prefix →
 * make the installed package read-only (`chmod -R a-w`, as under systemd's
 * ProtectSystem=strict) → `whalefall serve` from there → GET /healthz,
 * /readyz, the login page, its script and stylesheet → SIGTERM → exit 0.
 * Production dependencies only: no tsx, esbuild or typescript at run time.
 *
 * better-sqlite3 compiles from source on install (~2 min on a small machine:
 * no prebuilt download without internet). By default the install runs with
 * --ignore-scripts and the module already built in this checkout's
 * node_modules is copied in — only when it is the very same better-sqlite3
 * version (same Node ABI: the same node runs both). Set
 * WHALEFALL_PACK_TEST_BUILD=1 to install exactly as a user would (compiles).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';

const run = promisify(execFile);
const ROOT = path.resolve('.');
const FULL_BUILD = process.env.WHALEFALL_PACK_TEST_BUILD === '1';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('npm pack → global install → whalefall serve', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-pack-'));
  after(() => {
    // Writable again so the scratch folder can be removed.
    spawnSync('chmod', ['-R', 'u+w', tmp]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves /healthz from the installed package', { timeout: 15 * 60_000 }, async () => {
    const t0 = Date.now();
    const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, maxBuffer: 64 << 20 });
    const info = (JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
    const tarball = path.join(tmp, info.filename);
    const files = info.files.map((f) => f.path);
    for (const must of [
      'bin/whalefall.mjs',
      'dist/cli/main.js',
      'dist/store/migrations/0009_production.js',
      'dist/http/pages/views/layout.eta',
      'dist/client/shared/i18n/index.js',
      'deploy/whalefall.service',
      'deploy/nginx.conf',
      'package.json',
      'README.md',
    ]) {
      assert.ok(files.includes(must), `${must} is packed`);
    }
    // The compiled server and the client bundle are built by prepare and packed although git ignores them.
    for (const must of ['dist/bundle/login.page.js', 'dist/bundle/instances.page.js', 'dist/bundle/built.json']) {
      assert.ok(files.includes(must), `${must} is packed (built by prepare)`);
    }
    assert.deepEqual(
      files.filter((f) => /^(src|test|bench|scripts|node_modules|data)\//.test(f)),
      [],
      'no sources, tests, benchmarks or data in the package',
    );

    const prefix = path.join(tmp, 'prefix');
    const args = ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev'];
    if (!FULL_BUILD) args.push('--ignore-scripts');
    await run('npm', args, { cwd: tmp, maxBuffer: 64 << 20, timeout: 12 * 60_000 });
    const installed = path.join(prefix, 'lib/node_modules/whalefall');
    for (const dev of ['typescript', 'tsx', 'esbuild', 'autocannon', 'eslint', 'smtp-server', 'mailparser', '@types/better-sqlite3', '@types/nodemailer']) {
      assert.ok(!fs.existsSync(path.join(installed, 'node_modules', dev)), `dev dependency ${dev} not installed`);
    }
    if (!FULL_BUILD) {
      const want = JSON.parse(fs.readFileSync(path.join(installed, 'node_modules/better-sqlite3/package.json'), 'utf8')).version as string;
      const have = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')).version as string;
      assert.equal(want, have, 'the module built here is the version the package installs');
      const rel = 'node_modules/better-sqlite3/build/Release';
      fs.mkdirSync(path.join(installed, rel), { recursive: true });
      fs.copyFileSync(path.join(ROOT, rel, 'better_sqlite3.node'), path.join(installed, rel, 'better_sqlite3.node'));
    }
    const installMs = Date.now() - t0;
    // Read-only from here on: the service must not write into its install dir (no build at start).
    await run('chmod', ['-R', 'a-w', installed]);

    const bin = path.join(prefix, 'bin/whalefall');
    assert.ok(fs.existsSync(bin), 'the whalefall command is on the prefix');
    const port = await freePort();
    const dataDir = path.join(tmp, 'data');
    // Run from the temp dir with a clean NODE_PATH: nothing of this checkout can be picked up.
    const child = spawn(bin, ['serve'], {
      cwd: tmp,
      env: {
        PATH: process.env.PATH,
        HOME: tmp,
        WHALEFALL_DATA_DIR: dataDir,
        PORT: String(port),
        WHALEFALL_ADMIN_PASSWORD: 'Admin-Secret-1',
        WHALEFALL_SCHEDULER: 'off',
        WHALEFALL_TZ: 'UTC',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let health: Response | undefined;
      for (let i = 0; i < 300 && !health; i++) {
        await new Promise((r) => setTimeout(r, 100));
        health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      }
      assert.ok(health, `serve answered:\n${out}`);
      assert.equal(health.status, 200);
      // The web UI from the packed bundle: the login page and its script.
      assert.equal((await fetch(`http://127.0.0.1:${port}/login`)).status, 200);
      const script = await fetch(`http://127.0.0.1:${port}/static/app/login.page.js`);
      assert.equal(script.status, 200, `the packed client bundle is served: ${await script.text()}\n${out.slice(-2000)}`);
      const css = await fetch(`http://127.0.0.1:${port}/static/css/app.css`);
      assert.equal(css.status, 200, 'the stylesheet copied into dist/http/pages is served');
      assert.deepEqual(await health.json(), { status: 'ok' });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
      assert.ok(fs.existsSync(path.join(dataDir, 'whalefall.db')), 'the store is in the data dir');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    console.log(
      `# packed ${files.length} files (${(fs.statSync(tarball).size / 1024).toFixed(0)} KiB); pack + install ${installMs} ms (${FULL_BUILD ? 'full build' : 'native module reused'}); served /healthz; SIGTERM → exit 0`,
    );
  });
});
