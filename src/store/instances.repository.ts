import { errorColumns } from './sync.repository.js';
import type { Msg } from '../client/shared/i18n/index.js';
import { sql, type Kysely } from 'kysely';
import type { DialectName } from './db.js';
import type { Database, InstanceRow, InstanceUpdate, NewInstance } from './schema.js';
import { hasTag } from './tags.js';
import { pacer } from '../lib/concurrency.js';
import { previousPointAt, previousPointSize, windowBaselineSize } from './sync-points.sql.js';
import type { OverviewSort, OverviewStatus } from '../domain/instances.js';

export interface OverviewQuery {
  dbType?: string;
  status?: OverviewStatus;
  tag?: string;
  search?: string;
  ids?: number[];
  sort: OverviewSort;
  dir: 'asc' | 'desc';
  limit: number;
  offset: number;
  /** Start of the change window (ISO timestamp): the change is measured from the earliest sync at or after it. */
  since: string;
}

export type OverviewRow = InstanceRow & {
  baseline_bytes: number | null;
  change_7d_bytes: number | null;
  /** Total at the sync before the last one, and the change since (null: no earlier sync, "no baseline yet"). */
  previous_sync_at: string | null;
  change_last_sync_bytes: number | null;
};

/** `%`, `_` and `\` taken literally in a LIKE pattern (ESCAPE '\'). */
export function likeLiteral(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface InstanceListFilter {
  dbType?: string;
  active?: boolean;
  /** Only instances carrying this exact tag. */
  tag?: string;
  ids?: number[];
  limit?: number;
  offset?: number;
}

export class InstancesRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /** Instances in name order; `ids` keeps only those; `limit`/`offset` page the result (`total` counts every match). */
  async list(filter: InstanceListFilter = {}): Promise<InstanceRow[]> {
    let q = this.filtered(filter).selectAll().orderBy('name');
    if (filter.limit !== undefined) q = q.limit(filter.limit).offset(filter.offset ?? 0);
    return q.execute();
  }

  /** Every instance's encrypted TLS material (`keys remove` counts the keys it is under). */
  async sealedTls(): Promise<string[]> {
    const rows = await this.db.selectFrom('instances').select('tls_enc').where('tls_enc', 'is not', null).execute();
    return rows.map((r) => r.tls_enc!);
  }

  /** Rewrite every instance's encrypted TLS material with `rekey` (key rotation) in one transaction; undefined keeps it. */
  async rekeyTls(rekey: (tlsEnc: string) => string | undefined): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      let n = 0;
      for (const r of await trx.selectFrom('instances').select(['id', 'tls_enc']).where('tls_enc', 'is not', null).execute()) {
        const v = rekey(r.tls_enc!);
        if (v === undefined) continue;
        await trx.updateTable('instances').set({ tls_enc: v }).where('id', '=', r.id).execute();
        n++;
      }
      return n;
    });
  }

  /** Up to `limit` instances with an id above `afterId`, by id: the registry read a page at a time (an index seek each). */
  async listAfter(afterId: number, limit: number): Promise<InstanceRow[]> {
    return this.db.selectFrom('instances').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }

  async count(filter: InstanceListFilter = {}): Promise<number> {
    const r = await this.filtered(filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  private filtered(filter: InstanceListFilter) {
    let q = this.db.selectFrom('instances');
    if (filter.dbType) q = q.where('db_type', '=', filter.dbType);
    if (filter.active !== undefined) q = q.where('is_active', '=', filter.active ? 1 : 0);
    if (filter.ids) q = q.where('id', 'in', filter.ids.length ? filter.ids : [-1]);
    if (filter.tag) q = q.where(hasTag(this.dialect, filter.tag));
    return q;
  }

  /**
   * The instances page in one query: filtered, sorted and paged on the server,
   * with the 7-day change and the change since the previous sync from the
   * per-sync series (correlated index seeks, sync-points.sql.ts), plus the total count.
   */
  async overview(q: OverviewQuery): Promise<{ rows: OverviewRow[]; total: number }> {
    const id = sql.ref('instances.id');
    const baseline = windowBaselineSize(id, sql`''`, q.since);
    const previous = previousPointSize(id, sql`''`);
    let base = this.db.selectFrom('instances');
    if (q.dbType) base = base.where('db_type', '=', q.dbType);
    if (q.status === 'active') base = base.where('is_active', '=', 1);
    if (q.status === 'inactive') base = base.where('is_active', '=', 0);
    if (q.status === 'sync_failed') base = base.where('last_sync_status', '=', 'failed');
    if (q.status === 'never_synced') base = base.where('last_sync_at', 'is', null);
    if (q.ids) base = base.where('id', 'in', q.ids.length ? q.ids : [-1]);
    if (q.tag) base = base.where(hasTag(this.dialect, q.tag));
    if (q.search) {
      const pattern = `%${likeLiteral(q.search.toLowerCase())}%`;
      base = base.where(
        sql<boolean>`(lower(name) like ${pattern} escape '\\' or lower(host) like ${pattern} escape '\\' or lower(coalesce(description, '')) like ${pattern} escape '\\')`,
      );
    }
    const extra = [
      baseline.as('baseline_bytes'),
      sql<number | null>`total_size_bytes - ${baseline}`.as('change_7d_bytes'),
      previousPointAt(id, sql`''`).as('previous_sync_at'),
      sql<number | null>`total_size_bytes - ${previous}`.as('change_last_sync_bytes'),
    ] as const;
    const [bySort, byName, byId] = [sql`${sql.ref(q.sort)} ${sql.raw(q.dir === 'desc' ? 'desc' : 'asc')} nulls last`, sql`name`, sql`instances.id`];
    // Sorted by a column of the row, the page is chosen first and the per-sync seeks run for its rows only:
    // PostgreSQL computes a select list's subqueries before the sort under the LIMIT, so for every instance
    // (10,000 instances: 30,000 index seeks a page; SQLite computes them after). Sorted by the 7-day change, every
    // instance's change is needed to rank them.
    const page =
      q.sort === 'change_7d_bytes'
        ? base.selectAll().select(extra).orderBy(bySort).orderBy(byName).orderBy(byId).limit(q.limit).offset(q.offset)
        : this.db
            .selectFrom('instances')
            .innerJoin(base.select('id').orderBy(bySort).orderBy(byName).orderBy(byId).limit(q.limit).offset(q.offset).as('page'), 'page.id', 'instances.id')
            .selectAll('instances')
            .select(extra)
            .orderBy(bySort)
            .orderBy(byName)
            .orderBy(byId);
    const [rows, count] = await Promise.all([page.execute(), base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()]);
    return { rows, total: Number(count.n) };
  }

  /** Every tag in use (for the filter), from the JSON arrays. */
  async allTags(): Promise<string[]> {
    const rows = await this.db.selectFrom('instances').select('tags').distinct().execute();
    return [...new Set(rows.flatMap((r) => JSON.parse(r.tags) as string[]))].sort();
  }

  async get(id: number): Promise<InstanceRow | undefined> {
    return this.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Instances registered at host:port (host compared case-insensitively): candidates for "the same server". */
  async atAddress(host: string, port: number): Promise<InstanceRow[]> {
    return this.db
      .selectFrom('instances')
      .selectAll()
      .where(sql<boolean>`lower(host) = ${host.trim().toLowerCase()}`)
      .where('port', '=', port)
      .orderBy('id')
      .execute();
  }

  async getByName(name: string): Promise<InstanceRow | undefined> {
    return this.db.selectFrom('instances').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async insert(row: NewInstance): Promise<InstanceRow> {
    return this.db.insertInto('instances').values(row).returningAll().executeTakeFirstOrThrow();
  }

  async update(id: number, patch: InstanceUpdate): Promise<InstanceRow | undefined> {
    return this.db.updateTable('instances').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  }

  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('instances').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async countUsingCredential(credentialId: number): Promise<number> {
    const r = await this.db
      .selectFrom('instances')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('credential_id', '=', credentialId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** The seed's total-sizes: one query for the whole estate. */
  async totalSizes(): Promise<{ id: number; total_size_bytes: number | null }[]> {
    return this.db.selectFrom('instances').select(['id', 'total_size_bytes']).orderBy('id').execute();
  }

  async setSyncResult(id: number, r: { status: string; at: string; error: Msg | string | null }): Promise<void> {
    const { error_message, error_msg } = errorColumns(r.error);
    await this.db
      .updateTable('instances')
      .set({ last_sync_status: r.status, last_sync_at: r.at, last_sync_error: error_message, last_sync_error_msg: error_msg })
      .where('id', '=', id)
      .execute();
  }

  /**
   * An import's writes in one transaction: all of them or none. Inserts go in
   * multi-row statements of 500; each update sets only what changed.
   */
  async applyBatch(creates: NewInstance[], updates: { id: number; patch: InstanceUpdate }[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      // A yield to I/O between slices: on SQLite each statement runs on the event loop, and a 20,000-row import
      // in one stretch would stall every other request (those needing the store wait for the transaction anyway).
      const pace = pacer();
      for (let i = 0; i < creates.length; i += 100) {
        await pace();
        await tx
          .insertInto('instances')
          .values(creates.slice(i, i + 100))
          .execute();
      }
      for (const u of updates) {
        await pace();
        await tx.updateTable('instances').set(u.patch).where('id', '=', u.id).execute();
      }
    });
  }
}
