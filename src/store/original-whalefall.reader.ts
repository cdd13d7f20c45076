/**
 * Reads an original WhaleFall store (PostgreSQL; the seed's §5.1 schema:
 * `instances` and `database_size_stats`). Read-only: one connection, only
 * SELECTs, inside a READ ONLY transaction so a mistake here can never write
 * to the original. Extra columns are ignored; a missing one is a clear error.
 */
import type * as Pg from 'pg';
import { lazyModule } from '../lib/lazy-module.js';
import { AppError, errorMessage } from '../lib/errors.js';

/** Loaded by `import-whalefall` when it connects: the other commands (serve among them) never load pg for it. */
const pg = lazyModule<typeof Pg>('pg');

/** A bad URL, an unreachable server or another schema: one line, never the password. */
export class OriginalStoreError extends AppError {
  constructor(message: string) {
    super('validation', message);
  }
}

export interface OriginalInstance {
  id: number;
  name: string;
  db_type: string;
  host: string;
  port: number | null;
  is_active: boolean;
}

export interface OriginalSizeRow {
  id: number;
  instance_id: number;
  database_name: string;
  size_mb: number;
  data_size_mb: number | null;
  log_size_mb: number | null;
  collected_date: string;
  collected_at: string | null;
  is_deleted: boolean;
  deleted_at: string | null;
}

const REQUIRED: Record<string, string[]> = {
  instances: ['id', 'name', 'db_type', 'host', 'port', 'is_active'],
  database_size_stats: [
    'id',
    'instance_id',
    'database_name',
    'size_mb',
    'data_size_mb',
    'log_size_mb',
    'collected_date',
    'collected_at',
    'is_deleted',
    'deleted_at',
  ],
};

/** A row of the original store, read column by column (its columns were checked by `check`). */
type Row = Record<string, unknown>;

/** Rows per history page (keyset on id). */
const PAGE = 5000;

function iso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : typeof v === 'string' || typeof v === 'number' ? new Date(v) : null;
  return d === null || Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export class OriginalWhalefallReader {
  private constructor(private readonly client: Pg.Client) {}

  /** Connects and checks the schema; throws OriginalStoreError with one line on a bad URL, an unreachable server or another schema. */
  static async open(url: string, timeoutMs = 10_000): Promise<OriginalWhalefallReader> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OriginalStoreError('not a PostgreSQL URL (expected postgres://user@host:port/database)');
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
      throw new OriginalStoreError(`not a PostgreSQL URL: scheme "${parsed.protocol.replace(/:$/, '')}" (expected postgres://)`);
    // Where we connect, never with the password.
    const where = `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: 10 * timeoutMs,
      application_name: 'whalefall import-whalefall',
    });
    client.on('error', () => {}); // a dropped connection fails the pending query; it must not kill the process
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw new OriginalStoreError(`cannot connect to ${where}: ${errorMessage(err).split('\n')[0]}`);
    }
    const reader = new OriginalWhalefallReader(client);
    try {
      await client.query('BEGIN TRANSACTION READ ONLY');
      await reader.checkSchema();
    } catch (err) {
      await reader.close();
      throw err instanceof OriginalStoreError ? err : new OriginalStoreError(`${where}: ${errorMessage(err).split('\n')[0]}`);
    }
    return reader;
  }

  private async checkSchema(): Promise<void> {
    const r = await this.client.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
      [Object.keys(REQUIRED)],
    );
    for (const [table, cols] of Object.entries(REQUIRED)) {
      const have = new Set(r.rows.filter((x) => x.table_name === table).map((x) => x.column_name));
      if (!have.size) throw new OriginalStoreError(`not an original WhaleFall store: no table "${table}"`);
      const missing = cols.filter((c) => !have.has(c));
      if (missing.length) throw new OriginalStoreError(`not an original WhaleFall store: table "${table}" lacks column(s) ${missing.join(', ')}`);
    }
  }

  async instances(): Promise<OriginalInstance[]> {
    const r = await this.client.query<Row>('SELECT id, name, db_type, host, port, is_active FROM instances ORDER BY id');
    return r.rows.map((x) => ({
      id: Number(x.id),
      name: String(x.name),
      db_type: String(x.db_type),
      host: String(x.host),
      port: x.port === null ? null : Number(x.port),
      is_active: x.is_active !== false,
    }));
  }

  /** History rows per instance. */
  async historyCounts(): Promise<Map<number, number>> {
    const r = await this.client.query<Row>('SELECT instance_id, count(*) AS n FROM database_size_stats GROUP BY instance_id');
    return new Map(r.rows.map((x) => [Number(x.instance_id), Number(x.n)]));
  }

  /** One instance's history, page by page in id order. */
  async *history(instanceId: number): AsyncGenerator<OriginalSizeRow[]> {
    let after = 0;
    for (;;) {
      const r = await this.client.query<Row>(
        `SELECT id, instance_id, database_name, size_mb, data_size_mb, log_size_mb, to_char(collected_date, 'YYYY-MM-DD') AS collected_date,
                collected_at, is_deleted, deleted_at
           FROM database_size_stats WHERE instance_id = $1 AND id > $2 ORDER BY id LIMIT ${PAGE}`,
        [instanceId, after],
      );
      if (!r.rows.length) return;
      yield r.rows.map((x) => ({
        id: Number(x.id),
        instance_id: Number(x.instance_id),
        database_name: String(x.database_name),
        size_mb: Number(x.size_mb ?? 0),
        data_size_mb: x.data_size_mb === null ? null : Number(x.data_size_mb),
        log_size_mb: x.log_size_mb === null ? null : Number(x.log_size_mb),
        collected_date: String(x.collected_date),
        collected_at: iso(x.collected_at),
        is_deleted: x.is_deleted === true,
        deleted_at: iso(x.deleted_at),
      }));
      after = Number(r.rows[r.rows.length - 1]!.id);
      if (r.rows.length < PAGE) return;
    }
  }

  async close(): Promise<void> {
    await this.client.query('ROLLBACK').catch(() => {});
    await this.client.end().catch(() => {});
  }
}
