/**
 * Medium tests run against the real servers on this machine:
 * PostgreSQL 127.0.0.1:5432 (user postgres, trust auth) and
 * MariaDB 127.0.0.1:3306 (root, empty password). Everything a test creates is
 * named with uniqueName() and dropped by that test's after hook.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { ConnectTarget } from '../../src/engines/engine.js';

/** `wf_t_<prefix>_<8 hex>`: unique per run, lowercase, safe as an unquoted identifier. */
export function uniqueName(prefix: string): string {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `wf_t_${safe}_${randomBytes(4).toString('hex')}`;
}

export async function pgAdmin(database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
  await client.connect();
  return client;
}

/** Run `sql` as the superuser on `database`, on a connection of its own (a test creating, filling or dropping its database). */
export async function pgAdminRun(sql: string, database = 'postgres'): Promise<void> {
  const client = await pgAdmin(database);
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Drop a test's database (kept when WHALEFALL_KEEP_TEST_DB is set, to look at after a failure). */
export async function dropTestDatabase(name: string): Promise<void> {
  if (!process.env.WHALEFALL_KEEP_TEST_DB) await pgAdminRun(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export function mysqlAdmin(): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    password: '',
    charset: 'utf8mb4',
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
}

const base = { host: '127.0.0.1', options: {}, connectTimeoutMs: 3000, queryTimeoutMs: 30000 };

export function pgTarget(overrides: Partial<ConnectTarget> = {}): ConnectTarget {
  return { ...base, port: 5432, database: 'postgres', username: 'postgres', password: '', ...overrides };
}

export function mysqlTarget(overrides: Partial<ConnectTarget> = {}): ConnectTarget {
  return { ...base, port: 3306, database: null, username: 'root', password: '', ...overrides };
}

/** A server that accepts connections and never says a word: what a stuck firewall or hung server looks like. */
export async function startBlackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nobody listens on (freed just now), so a connection is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
