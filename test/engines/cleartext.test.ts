/**
 * A server that asks for the password in clear text over a plain connection never receives it (issue 17,
 * finding 1): fake PostgreSQL and MySQL servers, a few lines of `net` each, record every byte the real
 * drivers send. With the per-instance opt-in (`allow_cleartext_password: true`) the same servers do get the
 * password, which shows the recording works.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import type { ConnectTarget, Engine } from '../../src/engines/engine.js';
import { mysqlEngine } from '../../src/engines/mysql/mysql.engine.js';
import { postgresqlEngine } from '../../src/engines/postgresql/postgresql.engine.js';
import { SyncError } from '../../src/lib/errors.js';

const PASSWORD = 'Write-Only-Secret-42';

interface Fake {
  port: number;
  /** Every byte each connection sent, once it closed. */
  received(): Promise<Buffer>;
  close(): Promise<void>;
}

/** Start a fake server; `talk` answers one connection. */
async function fake(talk: (socket: net.Socket, onData: (n: number) => Promise<Buffer>) => Promise<void>): Promise<Fake> {
  let got: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const chunks: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    let waiter: (() => void) | undefined;
    got = new Promise((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks))));
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      buffered = Buffer.concat([buffered, c]);
      waiter?.();
    });
    // Wait for at least n more bytes (or the end), return them.
    const read = async (n: number) => {
      while (buffered.length < n && !socket.destroyed && socket.readable) await new Promise<void>((r) => (waiter = r));
      const out = buffered.subarray(0, n);
      buffered = buffered.subarray(n);
      return out;
    };
    talk(socket, read).catch(() => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => got,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const target = (port: number, options: Record<string, unknown> = {}): ConnectTarget => ({
  host: '127.0.0.1',
  port,
  database: null,
  username: 'monitor',
  password: PASSWORD,
  options,
  connectTimeoutMs: 3000,
  queryTimeoutMs: 3000,
});

async function attempt(engine: Engine, t: ConnectTarget): Promise<unknown> {
  try {
    const s = await engine.connect(t);
    await s.close();
    return undefined;
  } catch (err) {
    return err;
  }
}

/** PostgreSQL: read the startup message (answering 'N' to an SSLRequest), then ask for a clear-text password (R, code 3). */
const pgAsksCleartext = () =>
  fake(async (socket, read) => {
    for (;;) {
      const len = (await read(4)).readInt32BE(0);
      const body = await read(len - 4);
      if (body.readInt32BE(0) === 80877103) {
        socket.write('N');
        continue;
      }
      break;
    }
    const r = Buffer.alloc(9);
    r.write('R', 0);
    r.writeInt32BE(8, 1);
    r.writeInt32BE(3, 5);
    socket.write(r);
    // whatever comes next is recorded; give up after a moment
    await read(1_000_000);
  });

/** MySQL: a v10 handshake without TLS, then an AuthSwitchRequest to `plugin` (and, for caching_sha2, "perform full authentication"). */
const mysqlAsks = (plugin: 'mysql_clear_password' | 'sha256_password' | 'caching_sha2_password') =>
  fake(async (socket, read) => {
    const packet = (seq: number, payload: Buffer) => {
      const h = Buffer.alloc(4);
      h.writeUIntLE(payload.length, 0, 3);
      h[3] = seq;
      socket.write(Buffer.concat([h, payload]));
    };
    const readPacket = async () => {
      const h = await read(4);
      return { seq: h[3]!, body: await read(h.readUIntLE(0, 3)) };
    };
    const scramble = Buffer.from('abcdefghijklmnopqrst');
    const caps = 0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000; // long password, with db, 4.1, transactions, secure conn, plugin auth — no SSL
    const hello = Buffer.concat([
      Buffer.from([10]),
      Buffer.from('8.0.99-fake\0'),
      Buffer.from([1, 0, 0, 0]),
      scramble.subarray(0, 8),
      Buffer.from([0]),
      Buffer.from([caps & 0xff, (caps >> 8) & 0xff]),
      Buffer.from([33, 2, 0]),
      Buffer.from([(caps >> 16) & 0xff, (caps >> 24) & 0xff]),
      Buffer.from([21]),
      Buffer.alloc(10),
      scramble.subarray(8),
      Buffer.from([0]),
      Buffer.from('mysql_native_password\0'),
    ]);
    packet(0, hello);
    const response = await readPacket();
    packet(response.seq + 1, Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${plugin}\0`), scramble, Buffer.from([0])]));
    const next = await readPacket();
    if (plugin === 'caching_sha2_password') packet(next.seq + 1, Buffer.from([0x01, 0x04])); // AuthMoreData: perform full authentication
    await read(1_000_000);
  });

describe('a clear-text password request over a plain connection is refused', () => {
  const servers: Fake[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('PostgreSQL (AuthenticationCleartextPassword, code 3): refused, naming sslmode and the opt-in; the password never arrives', async () => {
    for (const sslmode of [undefined, 'disable', 'prefer']) {
      const srv = await pgAsksCleartext();
      servers.push(srv);
      const err = await attempt(postgresqlEngine, target(srv.port, sslmode ? { sslmode } : {}));
      assert.ok(err instanceof SyncError, `${sslmode}: ${String(err)}`);
      assert.equal(err.code, 'auth');
      assert.match(err.message, /明文.*sslmode.*allow_cleartext_password: true/);
      assert.ok(!(await srv.received()).includes(PASSWORD), `${sslmode}: the password reached the fake server`);
    }
  });

  it('PostgreSQL with the opt-in: the fake server receives it (the check above can fail)', async () => {
    const srv = await pgAsksCleartext();
    servers.push(srv);
    await attempt(postgresqlEngine, target(srv.port, { allow_cleartext_password: true }));
    assert.ok((await srv.received()).includes(PASSWORD));
  });

  it('PostgreSQL sslmode=require against a server without TLS fails before any password', async () => {
    const srv = await pgAsksCleartext();
    servers.push(srv);
    const err = await attempt(postgresqlEngine, target(srv.port, { sslmode: 'require' }));
    assert.ok(err instanceof SyncError);
    assert.match(err.message, /SSL/);
    assert.ok(!(await srv.received()).includes(PASSWORD));
  });

  for (const plugin of ['mysql_clear_password', 'sha256_password', 'caching_sha2_password'] as const) {
    it(`MySQL ${plugin}: refused without TLS, the password never arrives; with the opt-in it does`, async () => {
      const srv = await mysqlAsks(plugin);
      servers.push(srv);
      const err = await attempt(mysqlEngine, target(srv.port));
      assert.ok(err instanceof SyncError, String(err));
      assert.equal(err.code, 'auth');
      assert.match(err.message, /明文.*ssl option.*allow_cleartext_password: true/);
      assert.ok(!(await srv.received()).includes(PASSWORD), 'the password reached the fake server');
      if (plugin === 'caching_sha2_password') return; // opted in, it asks the fake server for an RSA key: a different dialogue
      const open = await mysqlAsks(plugin);
      servers.push(open);
      await attempt(mysqlEngine, target(open.port, { allow_cleartext_password: true }));
      assert.ok((await open.received()).includes(PASSWORD));
    });
  }
});
