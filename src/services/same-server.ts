/**
 * One server registered twice (the same host:port under two names — e.g. once by IP and once by a teammate
 * under another name, or added again by a fleet import) must not be counted twice in the estate total, and
 * registering it again is a warning that needs confirmation (instances.service.ts, fleet.service.ts).
 *
 * What makes two registrations the same server: the host (case-insensitive) and the port, plus the service
 * or database name where it names a separate server — Oracle's service name picks the PDB, so two services on
 * one listener are two things. For PostgreSQL, MySQL and SQL Server the database name only says where to log
 * in: the same host:port is the same server whatever it says.
 *
 * Host names are compared as written: `db1` and `10.0.0.5` for the same machine are not recognised (resolving
 * names would make the total depend on DNS at the time of reading).
 */
import type { DbType } from '../domain/db-type.js';
import { getEngine } from '../engines/registry.js';

export interface ServerAddress {
  db_type: string;
  host: string;
  port: number;
  database_name: string | null;
}

/** The identity of the server an instance points at: `host:port`, or `host:port/service` when the engine needs it. */
export function serverKey(a: ServerAddress): string {
  const base = `${a.host.trim().toLowerCase()}:${a.port}`;
  let needsName = false;
  try {
    needsName = getEngine(a.db_type as DbType).needsDatabaseName;
  } catch {
    /* an unknown type (an old row): host:port only */
  }
  return needsName && a.database_name ? `${base}/${a.database_name.trim().toLowerCase()}` : base;
}

/** A registration, as the order of `sameServerOrder` needs it. */
export interface Registration extends ServerAddress {
  id: number;
  name: string;
  last_sync_at: string | null;
}

export interface RegisteredServer extends Registration {
  total_size_bytes: number | null;
}

export interface SameServerCopies {
  /** Instances whose total another registration of the same server stands for. */
  excluded: Map<number, { name: string; counted_as: number; bytes: number }>;
  /** Sum of the excluded totals. */
  bytes: number;
}

/** The registration that counts first: the one synced most recently (its figures are the freshest), then the lower id. */
function countsBefore(a: Registration, b: Registration): number {
  const at = (r: Registration) => (r.last_sync_at ? new Date(r.last_sync_at).getTime() : -Infinity);
  return at(b) - at(a) || a.id - b.id;
}

/** The registrations of each server registered more than once, the one that counts first. */
function serversRegisteredTwice<R extends Registration>(rows: readonly R[]): R[][] {
  const groups = new Map<string, R[]>();
  for (const r of rows) {
    const k = serverKey(r);
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()].filter((list) => list.length > 1).map((list) => list.sort(countsBefore));
}

/**
 * Of the measured registrations of one server, the one synced most recently counts (its figures are the
 * freshest; ties: the lower id); the others' totals are left out of the estate figures.
 */
export function sameServerCopies(rows: readonly RegisteredServer[]): SameServerCopies {
  const excluded = new Map<number, { name: string; counted_as: number; bytes: number }>();
  let bytes = 0;
  for (const [keep, ...others] of serversRegisteredTwice(rows.filter((r) => r.total_size_bytes !== null))) {
    for (const r of others) {
      excluded.set(r.id, { name: r.name, counted_as: keep!.id, bytes: r.total_size_bytes! });
      bytes += r.total_size_bytes!;
    }
  }
  return { excluded, bytes };
}

/**
 * The same rule over a history (the capacity statistics' periods): in each period, of the registrations of a
 * server with a figure there, the first in `sameServerCopies`' order counts and the others are left out. So a
 * registration given up before another was added still counts for the periods it alone measured.
 *
 *   const order = sameServerOrder(instances);
 *   const counted = countedPerPeriod(order, rows);   // rows: { instance_id, period_start }
 *   if (counted(r.instance_id, r.period_start)) total += r.size_bytes;
 */
export function sameServerOrder(rows: readonly Registration[]): Map<number, { server: string; rank: number; name: string }> {
  const order = new Map<number, { server: string; rank: number; name: string }>();
  for (const list of serversRegisteredTwice(rows)) list.forEach((r, rank) => order.set(r.id, { server: serverKey(r), rank, name: r.name }));
  return order;
}

/** Whether an instance's figure in a period counts (see `sameServerOrder`), from the rows that have one. */
export function countedPerPeriod(
  order: ReadonlyMap<number, { server: string; rank: number }>,
  rows: Iterable<{ instance_id: number; period_start: string }>,
): (instanceId: number, periodStart: string) => boolean {
  const first = new Map<string, number>();
  for (const r of rows) {
    const o = order.get(r.instance_id);
    if (!o) continue;
    const k = `${r.period_start}\u0000${o.server}`;
    first.set(k, Math.min(first.get(k) ?? Infinity, o.rank));
  }
  return (instanceId, periodStart) => {
    const o = order.get(instanceId);
    return !o || first.get(`${periodStart}\u0000${o.server}`) === o.rank;
  };
}

/** The registration that counts, in `periodStart`, for the server of `instanceId` (itself when it counts). */
export function countedAs(
  order: ReadonlyMap<number, { server: string; name: string }>,
  counted: (instanceId: number, periodStart: string) => boolean,
  instanceId: number,
  periodStart: string,
): { id: number; name: string } | undefined {
  const server = order.get(instanceId)?.server;
  for (const [id, x] of order) if (x.server === server && counted(id, periodStart)) return { id, name: x.name };
  return undefined;
}
