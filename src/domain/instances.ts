/**
 * The instances overview's vocabulary: the columns it sorts by and the states
 * it filters on. Shared by the store (instances.repository), the API's query
 * schema (instances.schemas.ts) and, as types, the browser.
 */
export const OVERVIEW_SORTS = ['name', 'db_type', 'host', 'is_active', 'database_count', 'total_size_bytes', 'change_7d_bytes', 'last_sync_at'] as const;
export type OverviewSort = (typeof OVERVIEW_SORTS)[number];
export const OVERVIEW_STATUSES = ['active', 'inactive', 'sync_failed', 'never_synced'] as const;
export type OverviewStatus = (typeof OVERVIEW_STATUSES)[number];
