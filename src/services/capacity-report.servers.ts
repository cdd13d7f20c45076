/**
 * The monthly capacity report's figures with each server counted once
 * (same-server.ts: one server registered under two names). capacity-report.service.ts
 * reads the figures; this decides which registration's figure counts:
 *
 * - at a month's end, the registration whose latest figure in the month is
 *   the latest (the summary's order on a tie: synced most recently, then the
 *   lower id);
 * - the server's figure at the previous month's end goes with the registration
 *   counted now, whichever registration measured it (its change, its place
 *   among the growers);
 * - the showback's mean, day by day: each day the first registration (the
 *   summary's order) among those measured that day, the mean of those days
 *   charged to the registration counted at the month's end.
 *
 * Instances whose server is registered once keep their own figures.
 */
import type { InstanceAt } from '../store/report.repository.js';
import { countedAs, countedPerPeriod, type sameServerOrder } from './same-server.js';

type Order = ReturnType<typeof sameServerOrder>;

/** Each server's figure at the end of a month (`totalsAt`), by the registration counted. */
function monthEnd(order: Order, list: readonly InstanceAt[]): Map<number, number> {
  const measured = list.filter((i) => i.total_bytes !== null);
  const last = new Map<string, string>();
  for (const i of measured) {
    const server = order.get(i.id)?.server;
    if (server && i.total_date! > (last.get(server) ?? '')) last.set(server, i.total_date!);
  }
  const latest = measured.filter((i) => !order.has(i.id) || i.total_date === last.get(order.get(i.id)!.server));
  const counted = countedPerPeriod(
    order,
    latest.map((i) => ({ instance_id: i.id, period_start: '' })),
  );
  return new Map(latest.filter((i) => counted(i.id, '')).map((i) => [i.id, i.total_bytes!]));
}

export function countServersOnce(
  order: Order,
  atEnd: readonly InstanceAt[],
  atPrev: readonly InstanceAt[],
  averages: ReadonlyMap<number, { avg: number; days: number }>,
  /** The daily totals in the month of the registrations in `order`. */
  daily: readonly { instance_id: number; collected_date: string; total_size_bytes: number }[],
) {
  const now = monthEnd(order, atEnd);
  const before = monthEnd(order, atPrev);
  const countedNow = new Map([...now.keys()].filter((id) => order.has(id)).map((id) => [order.get(id)!.server, id]));
  for (const [id, v] of [...before]) {
    const nowId = order.has(id) ? countedNow.get(order.get(id)!.server) : undefined;
    if (nowId === undefined || nowId === id) continue;
    before.delete(id);
    before.set(nowId, v);
  }

  const means = new Map([...averages].filter(([id]) => !order.has(id)));
  const countsThatDay = countedPerPeriod(
    order,
    daily.map((d) => ({ instance_id: d.instance_id, period_start: d.collected_date })),
  );
  const perServer = new Map<string, { sum: number; days: number }>();
  for (const d of daily) {
    if (!countsThatDay(d.instance_id, d.collected_date)) continue;
    const server = order.get(d.instance_id)!.server;
    const acc = perServer.get(server) ?? { sum: 0, days: 0 };
    acc.sum += d.total_size_bytes;
    acc.days++;
    perServer.set(server, acc);
  }
  for (const [server, id] of countedNow) {
    const acc = perServer.get(server);
    if (acc) means.set(id, { avg: acc.sum / acc.days, days: acc.days });
  }

  const names = new Map(atEnd.map((i) => [i.id, i.name]));
  const countsNow = (id: number) => now.has(id);
  const sameServer = atEnd
    .filter((i) => i.total_bytes !== null && !now.has(i.id))
    .map((i) => {
      const by = countedAs(order, countsNow, i.id, '')!;
      return { instance_id: i.id, instance_name: names.get(i.id)!, counted_as_instance_id: by.id, counted_as_instance_name: by.name, bytes: i.total_bytes! };
    });
  return { now, before, means, sameServer };
}
