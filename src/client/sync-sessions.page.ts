/** Sync sessions list: filters, paging; refreshed every few seconds while a listed session is running. */
import { cancelButton, counts, duration } from './sessions.js';
import { api, errorText, fmt, formFields, h, newest, searchParams, showAlert, syncBadge, t } from './ui.js';
import type { SyncSessionListQuery, SyncSessionPage as Page } from './shared/api-types.js';

const POLL_MS = 2000;
const form = document.getElementById('wf-sess-filters') as HTMLFormElement;
const state = { limit: 50, offset: 0 };
let timer: ReturnType<typeof setTimeout> | undefined;

const loads = newest();

async function load(): Promise<void> {
  const mine = loads();
  clearTimeout(timer);
  // The filter form's fields (sync-sessions.eta) by the route's names; its selects offer the route's values.
  const f = formFields(form);
  const q = searchParams({
    sync_type: f.sync_type as SyncSessionListQuery['sync_type'],
    status: f.status as SyncSessionListQuery['status'],
    from: f.from,
    to: f.to,
    limit: state.limit,
    offset: state.offset,
  } satisfies SyncSessionListQuery);
  let page: Page;
  try {
    page = (await api<Page>('GET', `/api/sync-sessions?${q}`)).data;
  } catch (err) {
    if (mine()) showAlert('danger', errorText(err));
    return;
  }
  if (!mine()) return; // the filters changed meanwhile: their answer draws the rows
  const tbody = document.getElementById('wf-sess-rows')!;
  if (page.items.length === 0) {
    tbody.replaceChildren(
      h(
        'tr',
        {},
        h(
          'td',
          { colspan: 7, class: 'text-center text-muted py-4' },
          page.total === 0 && state.offset === 0 && !q.has('status') && !q.has('sync_type') && !q.has('from') && !q.has('to')
            ? t('sessions.empty')
            : t('sessions.no_match'),
        ),
      ),
    );
  } else {
    tbody.replaceChildren(
      ...page.items.map((s) =>
        h(
          'tr',
          { 'data-wf-session': s.session_id },
          h('td', { class: 'wf-nowrap' }, h('a', { href: `/sync-sessions/${s.session_id}` }, fmt.dateTime(s.started_at))),
          h('td', { class: 'wf-nowrap' }, t(`sync_type.${s.sync_type}`)),
          h('td', {}, syncBadge(s.status)),
          h('td', { class: 'wf-num' }, counts(s)),
          h('td', { class: 'wf-num' }, duration(s)),
          h('td', { class: 'wf-hide-sm wf-mono text-muted' }, s.session_id.slice(0, 8)),
          h(
            'td',
            { class: 'text-end' },
            cancelButton(s, () => void load()),
          ),
        ),
      ),
    );
  }
  const from = page.total ? page.offset + 1 : 0;
  document.getElementById('wf-page-info')!.textContent = t('common.page_info', { from, to: page.offset + page.items.length, total: page.total });
  (document.getElementById('wf-prev') as HTMLButtonElement).disabled = page.offset === 0;
  (document.getElementById('wf-next') as HTMLButtonElement).disabled = page.offset + page.items.length >= page.total;
  const live = page.items.some((s) => s.status === 'running');
  document.getElementById('wf-live')!.classList.toggle('wf-hidden', !live);
  if (live) timer = setTimeout(() => void load(), POLL_MS);
}

form.addEventListener('change', () => {
  state.offset = 0;
  void load();
});
form.addEventListener('reset', () => {
  state.offset = 0;
  setTimeout(() => void load(), 0);
});
form.addEventListener('submit', (ev) => ev.preventDefault());
document.getElementById('wf-prev')!.addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - state.limit);
  void load();
});
document.getElementById('wf-next')!.addEventListener('click', () => {
  state.offset += state.limit;
  void load();
});
void load();
