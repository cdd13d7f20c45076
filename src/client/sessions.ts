/** What the sync session pages share: the session shape, counts and duration text, the 取消 button. */
import { api, can, errorText, fmt, h, icon, onAsync, showAlert, t, withSpinner } from './ui.js';
import type { CancelResult, SyncSession as Session } from './shared/api-types.js';

/** "ok · failed · (skipped ·) total" as text (fmt.sessionCounts). */
export function counts(s: Pick<Session, 'status' | 'successful_instances' | 'failed_instances' | 'total_instances'>): string {
  return fmt.sessionCounts(s);
}

/** Running sessions have no completed_at yet: show the time so far. */
export function duration(s: Pick<Session, 'duration_ms' | 'started_at' | 'status'>): string {
  if (s.duration_ms !== null) return fmt.duration(s.duration_ms);
  return s.status === 'running' ? fmt.duration(Date.now() - new Date(s.started_at).getTime()) : '—';
}

/**
 * 取消: ask, then POST /api/sync-sessions/:id/cancel (operator+). Resolves true when the server took
 * the request (the session then ends `cancelled`: poll it), false when the user said no or it failed.
 */
export async function cancelSession(sessionId: string, btn: HTMLButtonElement): Promise<boolean> {
  if (!window.confirm(t('sessions.confirm_cancel'))) return false;
  try {
    const res = await withSpinner(btn, () => api<CancelResult>('POST', `/api/sync-sessions/${encodeURIComponent(sessionId)}/cancel`));
    showAlert('info', res.message ?? t('sync_status.cancelled'));
    return true;
  } catch (err) {
    showAlert('danger', errorText(err));
    return false;
  }
}

/** The 取消 button for a running session, or null (not running, or a viewer). */
export function cancelButton(s: Pick<Session, 'session_id' | 'status'>, after: () => void): HTMLButtonElement | null {
  if (s.status !== 'running' || !can('operator')) return null;
  const btn = h(
    'button',
    { type: 'button', class: 'btn btn-outline-danger btn-sm wf-cancel-session', title: t('sessions.cancel_title') },
    icon('fas fa-ban me-1'),
    t('sessions.cancel'),
  );
  btn.addEventListener(
    'click',
    onAsync(async () => {
      if (await cancelSession(s.session_id, btn)) {
        btn.disabled = true;
        after();
      }
    }),
  );
  return btn;
}
