/**
 * Where an instance's bytes went: engines measure the parts, the composition
 * service and the store (composition.repository) keep them.
 */
import type { KeyedMessage } from './collection.js';

/**
 * One part of an instance's space. Parts are disjoint (a byte is in one part
 * only), so they stack. `bytes` null: not measured, with `reason` (a missing
 * grant names it) — never 0 for "unknown".
 */
export interface CompositionPart {
  kind: string;
  bytes: number | null;
  /** Per-kind facts: per database, per slot, per file… */
  detail: Record<string, unknown> | null;
  reason?: string;
  /** `reason` by key (the text is its zh-CN rendering); absent on rows stored before the keys. */
  reason_msg?: KeyedMessage;
}

export interface Composition {
  parts: CompositionPart[];
  /** The most the instance can grow to, as the engine reports it (volume size, autoextend max). */
  ceiling_bytes: number | null;
  ceiling_source: string | null;
  /** Bytes in use on the volumes the engine reports (SQL Server dm_os_volume_stats): what the parts should add up to. */
  disk_used_bytes: number | null;
  /** Where the ceiling came from in detail (SQL Server: each volume's total and free), or `reason` (+ `reason_msg`) when it could not be read. */
  ceiling_detail?: Record<string, unknown> | null;
  method: string;
}
