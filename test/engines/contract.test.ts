/**
 * The engine contract: what every engine must do with the network's
 * failures, through its real driver, typed `Record<DbType, Case>` so a new
 * engine fails to compile until it says what it expects (Kysely's
 * `testSql(query, dialect, PerDialect<…>)`). Engine-specific behaviour (sizes,
 * grants, server errors) stays in each engine's own file.
 *
 * For every engine: a refused port is a `connection` error naming the
 * refusal; a server that accepts and never answers is a `timeout` within the
 * injected connect timeout (+ 1.5 s of slack for a loaded machine); a
 * server that hangs up at once and a host that does not resolve are
 * `connection` errors; no message ever holds the password, even when the
 * driver's error text does.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import type { ConnectTarget, Engine } from '../../src/engines/engine.js';
import type { DbType } from '../../src/domain/db-type.js';
import { engines } from '../../src/engines/registry.js';
import { SyncError } from '../../src/lib/errors.js';
import { closedPort, startBlackHole } from '../helpers/targets.js';

interface Case {
  /** A target for this engine on 127.0.0.1:`port` (the credentials only need to be well-formed). */
  target(port: number, overrides?: Partial<ConnectTarget>): ConnectTarget;
  /** The message of a refused connection. */
  refused: RegExp;
  /** The message of a connect timeout of 1000 ms, where the driver's text is worth pinning. */
  timedOut?: RegExp;
}

const PASSWORD = 'Contract-pw-9Zq';
const base = (port: number, o: Partial<ConnectTarget> = {}): ConnectTarget => ({
  host: '127.0.0.1',
  port,
  database: null,
  username: 'whalefall',
  password: PASSWORD,
  options: {},
  connectTimeoutMs: 3000,
  queryTimeoutMs: 5000,
  ...o,
});

const CASES: Record<DbType, Case> = {
  postgresql: { target: (p, o) => base(p, { database: 'postgres', ...o }), refused: /^连接被拒绝: .*ECONNREFUSED/ },
  mysql: { target: base, refused: /^连接被拒绝: .*ECONNREFUSED/ },
  mariadb: { target: base, refused: /^连接被拒绝: .*ECONNREFUSED/ },
  sqlserver: { target: base, refused: /^连接被拒绝: connect ECONNREFUSED 127\.0\.0\.1:\d+$/, timedOut: /Failed to connect to 127\.0\.0\.1:\d+ in 1000ms/ },
  oracle: {
    target: (p, o) => base(p, { database: 'ORCLPDB1', ...o }),
    // Nothing listens on the port: ORA-12541's cause, with its fix.
    refused: /^端口上没有监听器 \(ORA-12541\)（修复：.*）: NJS-503: .*\nconnect ECONNREFUSED/,
    timedOut: /^连接超时: NJS-510: .*"connectTimeout" of 1 seconds/,
  },
};

/** The error `connect` fails with; a connection that succeeds is a test failure. */
async function connectError(engine: Engine, t: ConnectTarget): Promise<SyncError> {
  const err: unknown = await engine.connect(t).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (x: unknown) => x,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  assert.ok(!err.message.includes(PASSWORD), `the password reached the message: ${err.message}`);
  return err;
}

for (const [dbType, c] of Object.entries(CASES) as [DbType, Case][]) {
  const engine = engines[dbType];
  describe(`engine contract: ${dbType} (real driver)`, () => {
    test('a refused port is a connection error that says so', async () => {
      const err = await connectError(engine, c.target(await closedPort()));
      assert.equal(err.code, 'connection');
      assert.match(err.message, c.refused);
    });

    test('a server that accepts and never answers is a timeout within the connect timeout', async () => {
      const hole = await startBlackHole();
      try {
        const connectTimeoutMs = 1000;
        const started = Date.now();
        const err = await connectError(engine, c.target(hole.port, { connectTimeoutMs }));
        const elapsed = Date.now() - started;
        assert.equal(err.code, 'timeout', err.message);
        if (c.timedOut) assert.match(err.message, c.timedOut);
        assert.ok(elapsed < connectTimeoutMs + 1500, `took ${elapsed} ms`);
      } finally {
        await hole.close();
      }
    });

    test('a server that hangs up at once is a connection error, not internal', async () => {
      const server = net.createServer((s) => s.destroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const err = await connectError(engine, c.target((server.address() as net.AddressInfo).port));
        assert.equal(err.code, 'connection', err.message);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    test('a host that does not resolve is a connection error', async () => {
      const err = await connectError(engine, c.target(1, { host: 'whalefall-no-such-host.invalid' }));
      assert.equal(err.code, 'connection', err.message);
    });

    test('a driver error that quotes the password is scrubbed, whatever its class', () => {
      const t = c.target(1);
      for (const raw of [new Error(`password "${PASSWORD}" rejected`), Object.assign(new Error(`login ${PASSWORD} failed`), { code: 'ECONNRESET' })]) {
        const err = engine.classifyError(raw, t);
        assert.ok(err instanceof SyncError);
        assert.ok(!err.message.includes(PASSWORD), `${dbType}: ${err.message}`);
      }
    });
  });
}
