/** 批量同步 on the instances page: start a batch session and show its progress live. */
import { cancelSession } from './sessions.js';
import { api, errorText, fmt, showAlert, t, withSpinner } from './ui.js';
import type { BatchStarted, BatchSyncBody, SyncSession as Session } from './shared/api-types.js';

export function updateBatchLabel(selected: ReadonlySet<number>): void {
  const label = document.getElementById('wf-batch-label');
  if (label) label.textContent = selected.size ? t('instances.batch_sync_selected', { n: selected.size }) : t('instances.batch_sync_all');
}

/**
 * Start a batch sync of `selected` (all active instances when empty) and follow
 * its session until it ends; `reload` refreshes the table on each poll.
 */
export async function batchSync(btn: HTMLButtonElement, selected: Set<number>, reload: () => Promise<void>): Promise<void> {
  const ids = [...selected];
  let sessionId: string;
  try {
    const res = await withSpinner(btn, () =>
      api<BatchStarted>('POST', '/api/sync/capacity', (ids.length ? { instance_ids: ids } : {}) satisfies BatchSyncBody),
    );
    sessionId = res.data.session_id;
    showAlert('info', res.message ?? t('instances.batch_sync'));
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  btn.disabled = true;
  const box = document.getElementById('wf-batch')!;
  const bar = document.getElementById('wf-batch-bar')!;
  const text = document.getElementById('wf-batch-text')!;
  (document.getElementById('wf-batch-link') as HTMLAnchorElement).href = `/sync-sessions/${sessionId}`;
  box.classList.remove('wf-hidden');
  delete box.dataset.wfFinished;
  // 取消 while it runs (the batch button is for operators, so is cancel).
  const cancelBtn = document.getElementById('wf-batch-cancel') as HTMLButtonElement;
  cancelBtn.classList.remove('wf-hidden');
  cancelBtn.disabled = false;
  cancelBtn.onclick = async () => {
    if (await cancelSession(sessionId, cancelBtn)) cancelBtn.disabled = true;
  };
  bar.classList.add('progress-bar-animated', 'progress-bar-striped');
  bar.classList.remove('bg-success', 'bg-warning', 'bg-danger', 'bg-secondary');
  for (;;) {
    let s: Session;
    try {
      // The summary: the bar needs the counts, not the records (a 10,000-instance session's records are ~9 MB a poll).
      s = (await api<Session>('GET', `/api/sync-sessions/${sessionId}/summary`)).data;
    } catch (err) {
      showAlert('danger', errorText(err));
      break;
    }
    const done = s.successful_instances + s.failed_instances;
    const pct = s.total_instances ? Math.round((done * 100) / s.total_instances) : 100;
    bar.style.width = `${pct}%`;
    bar.setAttribute('aria-valuenow', String(pct));
    bar.textContent = `${pct}%`;
    const elapsed = fmt.duration(s.elapsed_ms);
    const timing =
      s.remaining_ms_estimate === null
        ? t('instances.batch_timing_unknown', { elapsed })
        : t('instances.batch_timing', { elapsed, remaining: fmt.duration(s.remaining_ms_estimate) });
    text.textContent = `${t('instances.batch_progress', { done, total: s.total_instances, ok: s.successful_instances, failed: s.failed_instances })} · ${timing}`;
    text.dataset.wfDone = String(done);
    if (s.status !== 'running') {
      bar.classList.remove('progress-bar-animated', 'progress-bar-striped');
      bar.classList.add(
        s.status === 'completed' ? 'bg-success' : s.status === 'partial' ? 'bg-warning' : s.status === 'cancelled' ? 'bg-secondary' : 'bg-danger',
      );
      text.textContent =
        s.status === 'cancelled'
          ? t('instances.batch_cancelled', { ok: s.successful_instances, failed: s.failed_instances, skipped: s.total_instances - done })
          : t('instances.batch_finished', { status: t(`sync_status.${s.status}`), ok: s.successful_instances, failed: s.failed_instances });
      box.dataset.wfFinished = s.status;
      showAlert(s.status === 'completed' ? 'success' : 'warning', text.textContent);
      break;
    }
    await reload();
    await new Promise((r) => setTimeout(r, 1000));
  }
  cancelBtn.classList.add('wf-hidden');
  cancelBtn.onclick = null;
  btn.disabled = false;
  selected.clear();
  updateBatchLabel(selected);
  await reload();
}
