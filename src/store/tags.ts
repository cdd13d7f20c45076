import { sql, type RawBuilder } from 'kysely';
import type { DialectName } from './db.js';

/**
 * `instances.tags` (a JSON array of strings) holds exactly `tag` as one element: SQLite through `json_each`,
 * PostgreSQL through jsonb containment. Case-sensitive on both; never a substring of the JSON text (a text
 * search let `prod` match the tag `team"prod`, whose JSON form contains `"prod"`).
 */
export function hasTag(dialect: DialectName, tag: string): RawBuilder<boolean> {
  return dialect === 'postgres'
    ? sql<boolean>`(instances.tags::jsonb @> jsonb_build_array(${tag}::text))`
    : sql<boolean>`exists (select 1 from json_each(instances.tags) t where t.type = 'text' and t.value = ${tag})`;
}
