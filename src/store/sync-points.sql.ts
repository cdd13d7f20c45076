/**
 * Correlated subqueries over the per-sync series (sync_size_points, 0013),
 * shared by the instances list, the instance detail, the database list and
 * the top growers. `instanceId` and `name` are SQL expressions (a column
 * reference or a value); name '' is the instance total. Every subquery is an
 * index seek on (instance_id, database_name, collected_at).
 *
 * A change is null — "no baseline yet", never 0 — when there is no point
 * earlier than the latest one.
 */
import { sql, type RawBuilder } from 'kysely';

type Expr = RawBuilder<unknown>;

const key = (instanceId: Expr, name: Expr) => sql`p.instance_id = ${instanceId} and p.database_name = ${name}`;

/** Time of the latest point (before `until`, an ISO timestamp, when given). */
export function latestPointAt(instanceId: Expr, name: Expr, until?: string): RawBuilder<string | null> {
  const bound = until === undefined ? sql`` : sql` and p.collected_at < ${until}`;
  return sql<string | null>`(select max(p.collected_at) from sync_size_points p where ${key(instanceId, name)}${bound})`;
}

/** Size at the latest point (before `until`). */
export function latestPointSize(instanceId: Expr, name: Expr, until?: string): RawBuilder<number | null> {
  const bound = until === undefined ? sql`` : sql` and p.collected_at < ${until}`;
  return sql<number | null>`(select p.size_bytes from sync_size_points p where ${key(instanceId, name)}${bound} order by p.collected_at desc limit 1)`;
}

/** Size at the sync before the latest one. */
export function previousPointSize(instanceId: Expr, name: Expr): RawBuilder<number | null> {
  return sql<number | null>`(select p.size_bytes from sync_size_points p where ${key(instanceId, name)} order by p.collected_at desc limit 1 offset 1)`;
}

/** Time of the sync before the latest one. */
export function previousPointAt(instanceId: Expr, name: Expr): RawBuilder<string | null> {
  return sql<string | null>`(select p.collected_at from sync_size_points p where ${key(instanceId, name)} order by p.collected_at desc limit 1 offset 1)`;
}

/**
 * The baseline of a window: the earliest point at or after `since` and
 * strictly before the latest point (before `until`): a window holding a
 * single sync has no baseline.
 */
export function windowBaselineSize(instanceId: Expr, name: Expr, since: string, until?: string): RawBuilder<number | null> {
  return windowBaseline(sql`p.size_bytes`, instanceId, name, since, until);
}

/** Time of the window's baseline (`windowBaselineSize`): how far back a change over the window really reaches. */
export function windowBaselineAt(instanceId: Expr, name: Expr, since: string, until?: string): RawBuilder<string | null> {
  return windowBaseline(sql`p.collected_at`, instanceId, name, since, until);
}

function windowBaseline<T>(column: Expr, instanceId: Expr, name: Expr, since: string, until?: string): RawBuilder<T | null> {
  return sql<T | null>`(select ${column} from sync_size_points p where ${key(instanceId, name)} and p.collected_at >= ${since}
    and p.collected_at < ${latestPointAt(instanceId, name, until)} order by p.collected_at asc limit 1)`;
}
