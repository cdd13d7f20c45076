/** The monthly capacity report's shape (built by capacity-report.service.ts, rendered by capacity-report.render.ts). */
import type { RunwayItem } from './runway.service.js';

export interface TotalLine {
  key: string;
  instances: number;
  total_bytes: number;
  previous_bytes: number | null;
  change_bytes: number | null;
  change_pct: number | null;
}

export interface ShowbackLine {
  tag: string;
  gb_months: number;
  cost: number;
}

export interface Grower {
  instance_id: number;
  instance_name: string;
  previous_bytes: number;
  total_bytes: number;
  change_bytes: number;
}

export interface Cleanup {
  kind: 'reclaimable' | 'inactive_slot_wal' | 'binary_logs' | 'unchanged_90_days' | 'deleted_history';
  instance_id: number;
  instance_name: string;
  /** The database, slot or part it is about. */
  target: string;
  /** Bytes a cleanup could free (null: store rows, see `rows`). */
  savings_bytes: number | null;
  rows: number | null;
}

export interface CapacityReport {
  month: string;
  from: string;
  to: string;
  previous_month: string;
  generated_at: string;
  estate: TotalLine;
  by_tag: TotalLine[];
  /** Registrations of a server another registration counts (same-server.ts): in no total, tag line or GB-month. */
  same_server_excluded: { instance_id: number; instance_name: string; counted_as_instance_id: number; counted_as_instance_name: string; bytes: number }[];
  /** `total_gb_months` and `total_cost` count each instance once (a tag line counts it under each of its tags). */
  showback: { rate_per_gb_month: number; currency: string; lines: ShowbackLine[]; total_gb_months: number; total_cost: number };
  top_growers: Grower[];
  shortest_runways: RunwayItem[];
  cleanup: Cleanup[];
  cleanup_savings_bytes: number;
}
