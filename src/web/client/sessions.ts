/** What the sync session pages share: the session shape, counts and duration text. */
import { fmt, t } from './ui.js';

export interface Session {
  session_id: string;
  sync_type: string;
  status: string;
  started_at: string;
  completed_at: string | null;
  total_instances: number;
  successful_instances: number;
  failed_instances: number;
  duration_ms: number | null;
}
/** "ok ✓ / failed ✗ / total" as text. */
export function counts(s: Pick<Session, 'successful_instances' | 'failed_instances' | 'total_instances'>): string {
  return t('sessions.counts', { ok: s.successful_instances, failed: s.failed_instances, total: s.total_instances });
}

/** Running sessions have no completed_at yet: show the time so far. */
export function duration(s: Pick<Session, 'duration_ms' | 'started_at' | 'status'>): string {
  if (s.duration_ms !== null) return fmt.duration(s.duration_ms);
  return s.status === 'running' ? fmt.duration(Date.now() - new Date(s.started_at).getTime()) : '—';
}
