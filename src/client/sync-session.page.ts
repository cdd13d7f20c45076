/** One sync session: header, progress, every instance record with its error; polled while running. */
import { cancelButton, counts, duration } from './sessions.js';
import { api, errorText, fmt, h, serverText, showAlert, syncBadge, t } from './ui.js';
import type { SyncSessionDetail } from './shared/api-types.js';

const POLL_MS = 1500;
const id = document.getElementById('wf-session')!.dataset.sessionId!;

let timer: ReturnType<typeof setTimeout> | undefined;

async function load(): Promise<void> {
  clearTimeout(timer);
  let s: SyncSessionDetail;
  try {
    s = (await api<SyncSessionDetail>('GET', `/api/sync-sessions/${encodeURIComponent(id)}`)).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  document.getElementById('wf-s-type')!.textContent = t(`sync_type.${s.sync_type}`);
  document.getElementById('wf-s-status')!.replaceChildren(syncBadge(s.status));
  document.getElementById('wf-s-started')!.textContent = fmt.dateTime(s.started_at);
  document.getElementById('wf-s-completed')!.textContent = fmt.dateTime(s.completed_at);
  document.getElementById('wf-s-duration')!.textContent = duration(s);
  document.getElementById('wf-s-counts')!.textContent = counts(s);
  const pct = (n: number) => `${s.total_instances ? (n * 100) / s.total_instances : 0}%`;
  document.getElementById('wf-s-bar-ok')!.style.width = pct(s.successful_instances);
  document.getElementById('wf-s-bar-failed')!.style.width = pct(s.failed_instances);
  document.getElementById('wf-s-bar-skipped')!.style.width = pct(s.records.filter((r) => r.status === 'skipped').length);
  const rows = s.records.map((r) =>
    h(
      'tr',
      { 'data-wf-record': r.instance_name, 'data-wf-status': r.status },
      h('td', { class: 'wf-name' }, h('a', { href: `/instances/${r.instance_id}` }, r.instance_name)),
      h('td', {}, syncBadge(r.status, serverText(r.error_message, r.error_message_key, r.error_params))),
      h('td', { class: 'wf-num wf-hide-sm' }, r.attempt),
      h('td', { class: 'wf-nowrap wf-hide-sm' }, fmt.dateTime(r.started_at)),
      h('td', { class: 'wf-nowrap wf-hide-sm wf-mono small', 'data-wf-holder': '' }, r.holder ? `${r.holder.host}:${r.holder.pid}` : '—'),
      h('td', { class: 'wf-num' }, fmt.duration(r.duration_ms)),
      h('td', { class: 'wf-num' }, fmt.number(r.databases_count)),
      h('td', { class: 'wf-num wf-hide-sm' }, r.created_count === null ? '—' : `${r.created_count}/${r.deleted_count ?? 0}/${r.restored_count ?? 0}`),
      h('td', { class: 'wf-num', title: fmt.mb(r.total_size_bytes) }, fmt.bytes(r.total_size_bytes)),
      h(
        'td',
        { class: 'text-danger small wf-name' },
        r.error_message ? `${r.error_code ? `[${r.error_code}] ` : ''}${serverText(r.error_message, r.error_message_key, r.error_params)}` : '',
      ),
    ),
  );
  document
    .getElementById('wf-records')!
    .replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 10, class: 'text-center text-muted py-4' }, t('sessions.no_records')))]));
  const cancelled = (status: string) => s.records.filter((r) => r.status === status && r.error_code === 'cancelled').length;
  document.getElementById('wf-s-cancelled')!.textContent =
    s.status === 'cancelled' ? t('sessions.cancelled_summary', { skipped: cancelled('skipped'), aborted: cancelled('failed') }) : '';
  const live = s.status === 'running';
  // One 取消 button while running (kept across polls so a click in flight is not lost).
  const slot = document.getElementById('wf-s-cancel')!;
  if (!live) slot.replaceChildren();
  else if (!slot.firstChild) slot.replaceChildren(cancelButton(s, () => void load()) ?? '');
  document.getElementById('wf-live')!.classList.toggle('wf-hidden', !live);
  if (live) timer = setTimeout(() => void load(), POLL_MS);
}

void load();
