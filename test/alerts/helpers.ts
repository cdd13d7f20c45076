/**
 * Alert test wiring: the alert services on a test context (until context.ts
 * builds them), a local webhook receiver, and synthetic history writers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from '../../src/context.js';
import { AlertDeliveryService, type DeliveryOptions } from '../../src/services/alert-delivery.service.js';
import { AlertsService } from '../../src/services/alerts.service.js';
import { AlertsRepository } from '../../src/store/alerts.repository.js';
import { alertsSchema } from '../../src/store/migrations/0005_alerts.js';
import { columnTypes } from '../../src/store/migrations/index.js';

export interface AlertStack {
  repo: AlertsRepository;
  delivery: AlertDeliveryService;
  alerts: AlertsService;
}

export async function alertStack(ctx: Context, opts: Partial<DeliveryOptions> = {}): Promise<AlertStack> {
  // The migration is registered in migrations/index.ts by the lead; until then apply it here, once.
  const tables = await ctx.store.db.introspection.getTables();
  if (!tables.some((t) => t.name === 'alert_rules')) await alertsSchema(columnTypes(ctx.store.dialect), ctx.store.dialect, {}).up(ctx.store.db);
  const repo = new AlertsRepository(ctx.store.db);
  const delivery = new AlertDeliveryService(repo, ctx.clock, ctx.logger, { maxAttempts: 3, baseDelayMs: 20, timeoutMs: 2000, ...opts });
  const alerts = new AlertsService({ repo, instances: ctx.repos.instances, clock: ctx.clock, logger: ctx.logger, audit: ctx.audit, delivery, keys: ctx.keys });
  return { repo, delivery, alerts };
}

export interface Received {
  path: string;
  body: unknown;
}

/** A webhook receiver on 127.0.0.1:0 answering each request with the next status of `statuses` (last one repeats). */
export async function receiver(statuses: number[] = [200]): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: JSON.parse(data) as unknown });
      const status = statuses[Math.min(n++, statuses.length - 1)]!;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"errcode":0}' : '{"error":"boom"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook?access_token=SECRET-TOKEN-123`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let seq = 0;
export async function addInstance(ctx: Context, opts: { dbType?: string; tags?: string[]; options?: Record<string, unknown> } = {}) {
  const now = new Date().toISOString();
  seq += 1;
  return ctx.repos.instances.insert({
    name: `alert-inst-${process.pid}-${seq}`,
    db_type: opts.dbType ?? 'postgresql',
    host: '127.0.0.1',
    port: 5432,
    tags: JSON.stringify(opts.tags ?? []),
    options: JSON.stringify(opts.options ?? {}),
    is_active: 1,
    created_at: now,
    updated_at: now,
  });
}

export async function setInstanceTotal(ctx: Context, instanceId: number, day: string, bytes: number): Promise<void> {
  await ctx.store.db
    .insertInto('instance_size_stats')
    .values({ instance_id: instanceId, collected_date: day, total_size_bytes: bytes, database_count: 1, collected_at: `${day}T03:00:00.000Z` })
    .onConflict((oc) => oc.columns(['instance_id', 'collected_date']).doUpdateSet({ total_size_bytes: bytes }))
    .execute();
}

export async function setDatabaseSize(ctx: Context, instanceId: number, db: string, day: string, bytes: number, maxBytes: number | null = null): Promise<void> {
  const at = `${day}T03:00:00.000Z`;
  await ctx.store.db
    .insertInto('database_size_stats')
    .values({
      instance_id: instanceId,
      database_name: db,
      collected_date: day,
      size_bytes: bytes,
      max_bytes: maxBytes,
      method: 'test',
      collected_at: at,
      is_deleted: 0,
      created_at: at,
      updated_at: at,
    })
    .onConflict((oc) => oc.columns(['instance_id', 'database_name', 'collected_date']).doUpdateSet({ size_bytes: bytes, max_bytes: maxBytes }))
    .execute();
}

export async function setLifecycle(ctx: Context, instanceId: number, db: string, deletedAt: string | null): Promise<void> {
  const now = new Date().toISOString();
  await ctx.store.db
    .insertInto('instance_databases')
    .values({
      instance_id: instanceId,
      database_name: db,
      is_system: 0,
      first_seen_date: '2024-01-01',
      last_seen_date: '2024-01-01',
      is_deleted: deletedAt ? 1 : 0,
      deleted_at: deletedAt,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['instance_id', 'database_name']).doUpdateSet({ is_deleted: deletedAt ? 1 : 0, deleted_at: deletedAt }))
    .execute();
}

/** One finished sync record of the instance (its own session). */
export async function addSyncRecord(ctx: Context, instanceId: number, status: 'completed' | 'failed', error: string | null = null): Promise<void> {
  seq += 1;
  const sid = `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`;
  const at = new Date().toISOString();
  await ctx.store.db
    .insertInto('sync_sessions')
    .values({
      session_id: sid,
      sync_type: 'manual_single',
      sync_category: 'capacity',
      status,
      started_at: at,
      completed_at: at,
      total_instances: 1,
      successful_instances: status === 'completed' ? 1 : 0,
      failed_instances: status === 'failed' ? 1 : 0,
      created_by: null,
      owner: null,
      heartbeat_at: null,
    })
    .execute();
  await ctx.store.db
    .insertInto('sync_instance_records')
    .values({
      session_id: sid,
      instance_id: instanceId,
      instance_name: 'x',
      status,
      started_at: at,
      completed_at: at,
      attempt: 1,
      error_message: error,
      holder: null,
    })
    .execute();
}

/** Run delivery passes until nothing is pending (retries are due after a few ms). */
export async function drain(delivery: AlertDeliveryService, repo: AlertsRepository, eventIds: number[], maxMs = 5000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    await delivery.deliverDue();
    const all = (await Promise.all(eventIds.map((id) => repo.deliveriesOf(id)))).flat();
    if (all.every((d) => d.status !== 'pending')) return;
    if (Date.now() - t0 > maxMs) throw new Error('deliveries still pending');
    await new Promise((r) => setTimeout(r, 10));
  }
}
