/**
 * Collections for tests that save one without an engine (`saveCollection`, the domain's checks): a database measured
 * by a `test` method, every breakdown unknown.
 */
import type { CollectedDatabase } from '../../src/domain/collection.js';

/** A user database of `size` bytes (null: not measured), its parts unknown; `over` sets what the test is about. */
export function measuredDb(name: string, size: number | null, over: Partial<CollectedDatabase> = {}): CollectedDatabase {
  return {
    database_name: name,
    is_system: false,
    size_bytes: size,
    data_bytes: null,
    index_bytes: null,
    log_bytes: null,
    free_bytes: null,
    used_bytes: null,
    method: 'test',
    ...over,
  };
}
