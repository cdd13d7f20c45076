/**
 * The instances page: server-side filtered/sorted/paged table from
 * GET /api/instances/overview, the per-row 同步容量 button (the seed's
 * behaviour: spinner, disabled, the server's message in an alert, then the
 * row's figures refreshed without a page reload), 批量同步 with live
 * progress, and the add/edit form with 测试连接 + doctor.
 */
import { batchSync, updateBatchLabel } from './batch-sync.js';
import { initForm, openForm } from './instance-form.js';
import { api, ApiError, can, errorText, fmt, formFields, h, newest, icon, searchParams, serverText, showAlert, syncBadge, t, withSpinner } from './ui.js';
import type {
  Engine,
  ExportInstancesQuery,
  InstanceOverview as Overview,
  InstanceOverviewQuery,
  InstanceOverviewRow as Row,
  UpdateInstanceBody,
} from './shared/api-types.js';

type Sort = NonNullable<InstanceOverviewQuery['sort']>;

const engines = JSON.parse(document.getElementById('wf-list')?.dataset.engines ?? '[]') as Engine[];
const engineLabel = (db: string) => engines.find((e) => e.db_type === db)?.label ?? db;
const state = { sort: 'name' as Sort, dir: 'asc' as NonNullable<InstanceOverviewQuery['dir']>, limit: 50, offset: 0 };
const selected = new Set<number>();
let current: Overview | undefined;
const filters = document.getElementById('wf-filters') as HTMLFormElement;
const tbody = document.getElementById('wf-rows')!;
const COLS = can('operator') ? 10 : 9;

function query(): URLSearchParams {
  // The filter form's fields (instances.eta) by the route's names; its selects offer the route's values.
  const f = formFields(filters);
  return searchParams({
    q: f.q,
    db_type: f.db_type as InstanceOverviewQuery['db_type'],
    status: f.status as InstanceOverviewQuery['status'],
    tag: f.tag,
    sort: state.sort,
    dir: state.dir,
    limit: state.limit,
    offset: state.offset,
  } satisfies InstanceOverviewQuery);
}

const loads = newest();
export async function load(): Promise<void> {
  const mine = loads();
  let data: Overview;
  try {
    data = (await api<Overview>('GET', `/api/instances/overview?${query()}`)).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  if (!mine()) return; // a newer request is on its way
  current = data;
  renderTags(data.tags);
  exportLinks();
  renderRows(data);
}

/** 导出 exports what the tag filter shows (the export API filters by one tag only). */
function exportLinks(): void {
  const tag = (document.getElementById('wf-filter-tag') as HTMLSelectElement).value;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('.wf-export-link')) {
    // The links' data-format values are the route's formats.
    const q = searchParams({ format: (a.dataset.format ?? 'csv') as ExportInstancesQuery['format'], tag: tag || undefined } satisfies ExportInstancesQuery);
    a.href = `/api/instances/export?${q}`;
  }
}

function renderTags(tags: string[]): void {
  const sel = document.getElementById('wf-filter-tag') as HTMLSelectElement;
  const value = sel.value;
  const first = sel.options[0]!;
  sel.replaceChildren(first, ...tags.map((tag) => h('option', { value: tag }, tag)));
  sel.value = tags.includes(value) ? value : '';
}

/** The 7-day change, and under it the change since the previous sync ("no baseline yet" without an earlier sync, never "0 B"). */
function changeCell(r: Row): HTMLElement {
  const bytes = r.change_7d_bytes;
  const cls = bytes === null || bytes === 0 ? 'text-muted' : bytes > 0 ? 'wf-change-up' : 'wf-change-down';
  const last = r.change_last_sync_bytes;
  return h(
    'td',
    { class: `wf-num ${cls}`, 'data-col': 'change', 'data-label': t('instances.col_change_7d') },
    bytes !== null && bytes !== 0 ? icon(`fas fa-arrow-${bytes > 0 ? 'up' : 'down'} me-1`) : null,
    fmt.growth(bytes),
    r.last_sync_at
      ? h(
          'div',
          { class: 'small text-muted wf-nowrap', 'data-col': 'change-last-sync', title: r.previous_sync_at ? fmt.dateTime(r.previous_sync_at) : '' },
          `${t('common.since_last_sync')} ${fmt.growth(last)}`,
        )
      : null,
  );
}

function renderRows(data: Overview): void {
  document.getElementById('wf-page-info')!.textContent = data.total
    ? t('common.page_info', { from: data.offset + 1, to: data.offset + data.items.length, total: data.total })
    : '';
  (document.getElementById('wf-prev') as HTMLButtonElement).disabled = data.offset === 0;
  (document.getElementById('wf-next') as HTMLButtonElement).disabled = data.offset + data.items.length >= data.total;
  for (const th of document.querySelectorAll<HTMLElement>('th[data-sort]')) {
    const on = th.dataset.sort === state.sort;
    th.classList.toggle('wf-sorted', on);
    th.setAttribute('aria-sort', on ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none');
    const i = th.querySelector('.wf-sort-icon')!;
    i.className = `fas ${on ? (state.dir === 'asc' ? 'fa-sort-up' : 'fa-sort-down') : 'fa-sort'} wf-sort-icon`;
  }
  if (!data.items.length) {
    tbody.replaceChildren(h('tr', {}, h('td', { colspan: COLS, class: 'text-center text-muted py-4' }, t('instances.no_match'))));
    return;
  }
  tbody.replaceChildren(...data.items.map(row));
  updateBatchLabel(selected);
}

function row(r: Row): HTMLTableRowElement {
  const tr = h('tr', { 'data-instance-id': r.id, class: r.is_active ? null : 'table-secondary' });
  if (can('operator')) {
    const cb = h('input', { type: 'checkbox', class: 'form-check-input wf-select', 'aria-label': t('instances.select_row', { name: r.name }) });
    cb.checked = selected.has(r.id);
    cb.disabled = !r.is_active;
    cb.addEventListener('change', () => {
      if (cb.checked) selected.add(r.id);
      else selected.delete(r.id);
      updateBatchLabel(selected);
    });
    tr.append(h('td', { class: 'wf-col-select' }, cb));
  }
  const never = !r.last_sync_at;
  const address = `${r.host}:${r.port}`;
  // Column priorities (static/app.css .wf-instances): the name and address are cut with an ellipsis (full text on
  // hover), tags sit under the name; at phone width each row becomes a card of name, type, total, change, last sync.
  tr.append(
    h(
      'td',
      { class: 'wf-name-cell', 'data-col': 'name' },
      h('a', { href: `/instances/${r.id}`, class: 'fw-semibold d-block text-truncate', title: r.name }, r.name),
      r.description ? h('div', { class: 'small text-muted text-truncate', title: r.description }, r.description) : null,
      r.tags.length
        ? h(
            'div',
            { class: 'wf-tags text-truncate', title: r.tags.join(', ') },
            ...r.tags.map((tag) => h('span', { class: 'badge text-bg-light border wf-tag' }, tag)),
          )
        : null,
    ),
    h(
      'td',
      { 'data-col': 'type', 'data-label': t('instances.col_type') },
      h('span', { class: `badge rounded-pill text-bg-info wf-type-${r.db_type}` }, engineLabel(r.db_type)),
    ),
    h('td', { class: 'wf-mono wf-col-address', 'data-col': 'address' }, h('span', { class: 'd-block text-truncate', title: address }, address)),
    h(
      'td',
      { 'data-col': 'state', class: 'wf-col-state' },
      h(
        'span',
        { class: `badge ${r.is_active ? 'text-bg-success' : 'text-bg-secondary'}` },
        t(r.is_active ? 'instances.status_active' : 'instances.status_inactive'),
      ),
    ),
    h('td', { class: 'wf-num wf-col-databases', 'data-col': 'databases' }, fmt.number(r.database_count)),
    h(
      'td',
      { class: 'wf-num instance-size', 'data-col': 'total', 'data-label': t('instances.col_total'), title: fmt.mb(r.total_size_bytes) },
      fmt.bytes(r.total_size_bytes),
    ),
    changeCell(r),
    h(
      'td',
      { class: 'wf-nowrap', 'data-col': 'last-sync', 'data-label': t('instances.col_last_sync') },
      // Imported from the original WhaleFall (or added without one): history is here, collection waits for a credential.
      r.credential_id === null
        ? h('span', { class: 'badge text-bg-warning wf-needs-credential' }, t('instances.needs_credential'))
        : syncBadge(r.last_sync_status, serverText(r.last_sync_error, r.last_sync_error_key, r.last_sync_error_params)),
      h('div', { class: 'small text-muted' }, never ? (r.is_active && can('operator') ? t('instances.sync_now_hint') : '') : fmt.dateTime(r.last_sync_at)),
    ),
    h('td', { class: 'text-end wf-nowrap', 'data-col': 'actions' }, ...actions(r)),
  );
  return tr;
}

function actions(r: Row): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (can('operator')) {
    const btn = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-outline-info btn-sm wf-sync-capacity',
        title: t('instances.sync_capacity'),
        'aria-label': t('instances.sync_capacity'),
      },
      icon('fas fa-database'),
      // The label goes below 1600 px (the icon and its tooltip stay): the row keeps its delete button in view.
      h('span', { class: 'wf-btn-label ms-1' }, t('instances.sync_capacity')),
    );
    if (r.is_active) {
      btn.addEventListener('click', () => void syncCapacity(btn, r));
      out.push(btn);
    } else {
      // A disabled instance cannot be synced (the server refuses it): the button is off, the reason on hover
      // (a disabled button gets no pointer events, so the tooltip sits on a wrapper).
      btn.disabled = true;
      btn.removeAttribute('title');
      out.push(h('span', { class: 'd-inline-block', tabindex: 0, title: t('instances.sync_disabled_hint'), 'data-wf-sync-disabled': '' }, btn));
    }
  }
  if (can('admin')) {
    const menu = h(
      'div',
      { class: 'btn-group btn-group-sm ms-1' },
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-outline-secondary wf-edit',
          title: t('common.edit'),
          'aria-label': t('common.edit'),
          onclick: () => void openForm(r),
        },
        icon('fas fa-pen'),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-outline-secondary wf-toggle',
          title: t(r.is_active ? 'instances.disable' : 'instances.enable'),
          'aria-label': t(r.is_active ? 'instances.disable' : 'instances.enable'),
          onclick: () => void toggleActive(r),
        },
        icon(r.is_active ? 'fas fa-pause' : 'fas fa-play'),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-outline-danger wf-delete',
          title: t('common.delete'),
          'aria-label': t('common.delete'),
          onclick: () => void remove(r),
        },
        icon('fas fa-trash'),
      ),
    );
    out.push(menu);
  }
  return out;
}

/** 同步容量: exactly the seed's flow, minus the full-page reload (the table is refreshed in place). */
async function syncCapacity(btn: HTMLButtonElement, r: Row): Promise<void> {
  try {
    const res = await withSpinner(btn, () => api<unknown>('POST', `/database-sizes/instances/${r.id}/sync-capacity`));
    showAlert('success', res.message ?? t('instances.sync_capacity'));
  } catch (err) {
    showAlert('danger', err instanceof ApiError ? err.message : t('instances.sync_failed'));
  }
  await load();
}

async function toggleActive(r: Row): Promise<void> {
  try {
    await api('PATCH', `/api/instances/${r.id}`, { is_active: !r.is_active } satisfies UpdateInstanceBody);
    showAlert('success', t(r.is_active ? 'instances.disabled_msg' : 'instances.enabled_msg', { name: r.name }));
  } catch (err) {
    showAlert('danger', errorText(err));
  }
  await load();
}

async function remove(r: Row): Promise<void> {
  if (!window.confirm(t('instances.confirm_delete', { name: r.name }))) return;
  try {
    const res = await api('DELETE', `/api/instances/${r.id}`);
    showAlert('success', res.message ?? t('common.delete'));
    selected.delete(r.id);
  } catch (err) {
    showAlert('danger', errorText(err));
  }
  await load();
}

// ---- wiring ----
let typing: ReturnType<typeof setTimeout> | undefined;
filters.addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(() => {
    state.offset = 0;
    void load();
  }, 250);
});
filters.addEventListener('submit', (ev) => ev.preventDefault());
filters.addEventListener('reset', () =>
  setTimeout(() => {
    state.offset = 0;
    void load();
  }),
);
for (const th of document.querySelectorAll<HTMLElement>('th[data-sort]')) {
  th.addEventListener('click', () => {
    // The header's data-sort values are the route's sort keys.
    const col = th.dataset.sort! as Sort;
    state.dir =
      state.sort === col && state.dir === 'asc' ? 'desc' : col === 'name' || col === 'db_type' || col === 'host' ? 'asc' : state.sort === col ? 'asc' : 'desc';
    state.sort = col;
    state.offset = 0;
    void load();
  });
}
document.getElementById('wf-prev')!.addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - state.limit);
  void load();
});
document.getElementById('wf-next')!.addEventListener('click', () => {
  state.offset += state.limit;
  void load();
});
document.getElementById('wf-page-size')!.addEventListener('change', (ev) => {
  state.limit = Number((ev.target as HTMLSelectElement).value);
  state.offset = 0;
  void load();
});
document.getElementById('wf-select-all')?.addEventListener('change', (ev) => {
  const on = (ev.target as HTMLInputElement).checked;
  for (const r of current?.items ?? []) {
    if (!r.is_active) continue;
    if (on) selected.add(r.id);
    else selected.delete(r.id);
  }
  for (const cb of tbody.querySelectorAll<HTMLInputElement>('.wf-select')) if (!cb.disabled) cb.checked = on;
  updateBatchLabel(selected);
});
const batchBtn = document.getElementById('wf-batch-sync') as HTMLButtonElement | null;
batchBtn?.addEventListener('click', () => void batchSync(batchBtn, selected, load));
document.getElementById('wf-add-instance')?.addEventListener('click', () => void openForm());
document.getElementById('wf-add-first')?.addEventListener('click', () => void openForm());
initForm(load);

void load();
