/**
 * The database detail page (issue #9): its tables on the latest collected
 * day — sorted, searched and paged by the server, a size split bar per table,
 * the budget's "other" row marked — a table's trend chart on click, CSV
 * export, and 采集表容量 (operator) that collects and refreshes in place.
 */
import { sizeChart, type Series } from './charts.js';
import { splitBar, splitLegend, type Split } from './tables.js';
import { api, ApiError, errorText, fmt, h, onAsync, searchParams, showAlert, t, withSpinner } from './ui.js';
import type {
  DatabaseSeriesQuery,
  Series as StatSeries,
  TableListQuery,
  TablePage,
  TableRow,
  TableSeries,
  TableSeriesQuery,
  TableSyncBody,
} from './shared/api-types.js';

const PAGE = 50;
const root = document.getElementById('wf-database')!;
const id = Number(root.dataset.instanceId);
const database = root.dataset.database!;
const state = {
  sort: 'total' as NonNullable<TableListQuery['sort']>,
  order: 'desc' as NonNullable<TableListQuery['order']>,
  search: '',
  offset: 0,
  selected: Number(new URLSearchParams(location.search).get('table')) || 0,
};

function query(extra: Partial<TableListQuery> = {}): string {
  return searchParams({
    database,
    sort: state.sort,
    order: state.order,
    ...(state.search ? { search: state.search } : {}),
    ...extra,
  } satisfies TableListQuery).toString();
}

function label(r: TableRow): string {
  return r.schema_name ? `${r.schema_name}.${r.table_name}` : r.table_name;
}

const KIND: Record<string, 'tables.kind_partitioned' | 'tables.kind_partition' | 'tables.kind_view'> = {
  partitioned: 'tables.kind_partitioned',
  partition: 'tables.kind_partition',
  matview: 'tables.kind_view',
};

async function load(): Promise<void> {
  (document.getElementById('wf-tables-csv') as HTMLAnchorElement).href = `/api/instances/${id}/tables?${query({ format: 'csv' })}`;
  let r: TablePage;
  try {
    r = (await api<TablePage>('GET', `/api/instances/${id}/tables?${query({ limit: PAGE, offset: state.offset })}`)).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  renderSummary(r);
  renderRows(r);
}

function renderSummary(r: TablePage): void {
  document.getElementById('wf-collected-on')!.textContent = r.collected_date ? fmt.date(r.collected_date) : t('tables.not_collected');
  const totals = r.totals;
  document.getElementById('wf-tables-total')!.textContent = totals ? fmt.bytes(totals.total_bytes) : '—';
  document
    .getElementById('wf-db-split')!
    .replaceWith(Object.assign(totals ? splitBar(totals, true) : h('div', { class: 'progress-stacked wf-split wf-split-lg' }), { id: 'wf-db-split' }));
  document.getElementById('wf-db-legend')!.replaceChildren(...(totals ? splitLegend(totals) : []));
}

function renderRows(r: TablePage): void {
  for (const th of document.querySelectorAll<HTMLElement>('#wf-tables-table th[data-sort]')) {
    const on = th.dataset.sort === state.sort;
    th.classList.toggle('wf-sorted', on);
    th.querySelector('.wf-sort-icon')!.className = `fas ${on ? (state.order === 'asc' ? 'fa-sort-up' : 'fa-sort-down') : 'fa-sort'} wf-sort-icon`;
  }
  const other = r.items.find((x) => x.kind === 'other');
  const note = document.getElementById('wf-other-note')!;
  note.classList.toggle('wf-hidden', !other);
  if (other) note.textContent = t('tables.other_note', { n: fmt.number(other.table_count), size: fmt.bytes(other.total_bytes) });
  // The count card counts real tables plus the ones "other" stands for.
  if (!state.search)
    document.getElementById('wf-tables-count')!.textContent = r.collected_date ? fmt.number(r.total - (other ? 1 : 0) + (other?.table_count ?? 0)) : '—';
  const from = r.total ? state.offset + 1 : 0;
  const to = Math.min(state.offset + PAGE, r.total);
  document.getElementById('wf-page-info')!.textContent = t('tables.page', { from: fmt.number(from), to: fmt.number(to), total: fmt.number(r.total) });
  (document.getElementById('wf-page-prev') as HTMLButtonElement).disabled = state.offset === 0;
  (document.getElementById('wf-page-next') as HTMLButtonElement).disabled = to >= r.total;
  const body = document.getElementById('wf-table-rows')!;
  if (!r.items.length) {
    const none = r.collected_date ? t('tables.no_match') : document.getElementById('wf-collect-tables') ? t('tables.none') : t('tables.none_viewer');
    body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'text-center text-muted py-3' }, none)));
    return;
  }
  body.replaceChildren(
    ...r.items.map((x) => {
      const isOther = x.kind === 'other';
      const kind = KIND[x.kind];
      const name = isOther
        ? h(
            'td',
            { class: 'wf-name' },
            h('i', { class: 'fas fa-layer-group me-1 text-warning', 'aria-hidden': 'true' }),
            t('tables.other', { n: fmt.number(x.table_count) }),
          )
        : h(
            'td',
            { class: 'wf-name' },
            h('span', { class: x.is_deleted ? 'text-decoration-line-through' : '' }, label(x)),
            kind ? h('span', { class: 'badge text-bg-light border ms-1' }, t(kind)) : null,
            x.is_deleted ? h('span', { class: 'badge text-bg-secondary ms-1' }, t('tables.deleted')) : null,
            x.parent ? h('div', { class: 'small text-muted' }, `↳ ${x.parent.schema_name}.${x.parent.table_name}`) : null,
          );
      const tr = h(
        'tr',
        {
          'data-table-id': x.table_id,
          class: `wf-clickable${isOther ? ' wf-other' : ''}${x.table_id === state.selected ? ' wf-selected' : ''}`,
          title: t('tables.trend_hint'),
        },
        name,
        h('td', { class: 'wf-num' }, fmt.bytes(x.total_bytes)),
        h('td', {}, splitBar(x)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(x.data_bytes)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(x.index_bytes)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(x.lob_bytes)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(x.free_bytes)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.number(x.row_estimate)),
      );
      tr.addEventListener('click', () => void openTrend(x.table_id, isOther ? t('tables.other', { n: fmt.number(x.table_count) }) : label(x)));
      return tr;
    }),
  );
  if (state.selected && !document.getElementById('wf-chart-table')!.hasAttribute('_echarts_instance_')) {
    const sel = r.items.find((x) => x.table_id === state.selected);
    if (sel) void openTrend(sel.table_id, sel.kind === 'other' ? t('tables.other', { n: fmt.number(sel.table_count) }) : label(sel));
  }
}

async function openTrend(tableId: number, name: string): Promise<void> {
  state.selected = tableId;
  for (const tr of document.querySelectorAll<HTMLElement>('#wf-table-rows tr')) tr.classList.toggle('wf-selected', Number(tr.dataset.tableId) === tableId);
  document.getElementById('wf-trend-name')!.textContent = name;
  const csv = document.getElementById('wf-trend-csv') as HTMLAnchorElement;
  csv.href = `/api/tables/${tableId}/series?${searchParams({ format: 'csv' } satisfies TableSeriesQuery)}`;
  csv.classList.remove('wf-hidden');
  const el = document.getElementById('wf-chart-table')!;
  let points: TableSeries['points'];
  try {
    points = (await api<TableSeries>('GET', `/api/tables/${tableId}/series`)).data.points;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  document.getElementById('wf-trend-hint')!.classList.add('wf-hidden');
  el.classList.remove('wf-hidden');
  const categories = points.map((p) => p.collected_date);
  // The same colours as the split bars (static/app.css .wf-split-*).
  const part = (key: keyof Split, name: string, color: string): Series | null =>
    points.some((p) => p[key] !== null) ? { name, color, points: points.map((p): [string, number | null] => [p.collected_date, p[key]]) } : null;
  const series = [
    part('total_bytes', t('tables.series_total'), '#212529'),
    part('data_bytes', t('tables.col_data'), '#0d6efd'),
    part('index_bytes', t('tables.col_index'), '#20c997'),
    part('lob_bytes', t('tables.col_lob'), '#fd7e14'),
    part('free_bytes', t('tables.col_free'), '#adb5bd'),
  ].filter((s): s is Series => s !== null);
  sizeChart(el, categories, series).resize();
  el.scrollIntoView({ block: 'nearest' });
}

/** The database's own size, day by day (the capacity ledger: every sync, not only table collections). */
async function loadHistory(): Promise<void> {
  const el = document.getElementById('wf-chart-db')!;
  let points: StatSeries['points'];
  try {
    points = (
      await api<StatSeries>(
        'GET',
        `/api/statistics/instances/${id}/database-series?${searchParams({ period: 'daily', database } satisfies DatabaseSeriesQuery)}`,
      )
    ).data.points;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  document.getElementById('wf-db-history-empty')!.classList.toggle('wf-hidden', points.length > 0);
  el.classList.toggle('wf-hidden', points.length === 0);
  if (points.length)
    sizeChart(
      el,
      points.map((p) => p.period_start),
      [{ name: database, points: points.map((p): [string, number] => [p.period_start, p.last_bytes]) }],
    ).resize();
}

const collect = document.getElementById('wf-collect-tables') as HTMLButtonElement | null;
collect?.addEventListener(
  'click',
  onAsync(async () => {
    try {
      const res = await withSpinner(collect, () => api('POST', `/api/instances/${id}/tables/sync`, { databases: [database] } satisfies TableSyncBody));
      showAlert('success', res.message ?? t('tables.collect'));
    } catch (err) {
      showAlert('danger', err instanceof ApiError ? err.message : t('tables.collect_failed'));
    }
    await load();
    if (state.selected) {
      const tr = document.querySelector<HTMLElement>(`#wf-table-rows tr[data-table-id="${state.selected}"]`);
      if (tr) tr.click();
    }
  }),
);

let typing: number | undefined;
document.getElementById('wf-table-search')!.addEventListener('input', (e) => {
  window.clearTimeout(typing);
  typing = window.setTimeout(() => {
    state.search = (e.target as HTMLInputElement).value.trim();
    state.offset = 0;
    void load();
    void loadHistory();
  }, 250);
});
for (const th of document.querySelectorAll<HTMLElement>('#wf-tables-table th[data-sort]')) {
  th.addEventListener('click', () => {
    // The header's data-sort values are the route's sort keys.
    const col = th.dataset.sort! as NonNullable<TableListQuery['sort']>;
    state.order = state.sort === col ? (state.order === 'asc' ? 'desc' : 'asc') : col === 'name' ? 'asc' : 'desc';
    state.sort = col;
    state.offset = 0;
    void load();
    void loadHistory();
  });
}
document.getElementById('wf-page-prev')!.addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - PAGE);
  void load();
  void loadHistory();
});
document.getElementById('wf-page-next')!.addEventListener('click', () => {
  state.offset += PAGE;
  void load();
  void loadHistory();
});

void load();
void loadHistory();
