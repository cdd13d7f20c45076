/** Names of the pg-boss schema and queue, without loading pg-boss (metrics read the queue's depth from the store). */
export const CAPACITY_QUEUE = 'whalefall-capacity-sync';
/** The nightly extras (aggregation, alerts, table-level syncs, composition, retention): one job per task. */
export const DAILY_QUEUE = 'whalefall-daily';
export const QUEUE_SCHEMA = 'whalefall_boss';
