/** Names of the pg-boss schema and queue, without loading pg-boss (metrics read the queue's depth from the store). */
export const CAPACITY_QUEUE = 'whalefall-capacity-sync';
export const QUEUE_SCHEMA = 'whalefall_boss';
