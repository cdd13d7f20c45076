/**
 * The instance detail page: databases (online / deleted, search, sort), the
 * trend chart (instance total + top-N databases, daily/weekly/monthly, zoom)
 * and the instance's sync records. 同步容量 here refreshes all three.
 */
import { sizeChart, type Series } from './charts.js';
import { api, ApiError, can, errorText, fmt, h, onAsync, searchParams, serverText, showAlert, syncBadge, t, withSpinner } from './ui.js';
import type {
  Instance,
  InstanceDatabase as Db,
  InstanceDatabases,
  InstanceSyncRecord as SyncRecord,
  Series as StatSeries,
  TableSyncBody,
  DatabaseSeriesQuery,
  SeriesQuery,
  SyncRecordListQuery,
} from './shared/api-types.js';
import { wireComposition } from './composition.js';

const root = document.getElementById('wf-instance')!;
const id = Number(root.dataset.instanceId);
let dbs: Db[] = [];
/** The table's sortable columns: text, numbers and dates (never the keyed remarks' parameters). */
type SortKey = { [K in keyof Db]: Db[K] extends string | number | boolean | null | undefined ? K : never }[keyof Db];
const dbState = { sort: 'size_bytes' as SortKey, dir: 'desc' as 'asc' | 'desc' };

async function loadDatabases(): Promise<void> {
  try {
    const r = await api<InstanceDatabases>('GET', `/api/instances/${id}/databases`);
    dbs = r.data.databases;
    document.getElementById('wf-db-online-n')!.textContent = String(r.data.online_count);
    document.getElementById('wf-db-deleted-n')!.textContent = String(r.data.deleted_count);
    document.getElementById('wf-card-online')!.textContent = String(r.data.online_count);
    document.getElementById('wf-card-deleted')!.textContent = String(r.data.deleted_count);
  } catch (err) {
    showAlert('danger', errorText(err));
  }
  renderDatabases();
}

function renderDatabases(): void {
  const deleted = (document.getElementById('wf-db-deleted') as HTMLInputElement).checked;
  const q = (document.getElementById('wf-db-search') as HTMLInputElement).value.trim().toLowerCase();
  const { sort, dir } = dbState;
  const rows = dbs
    .filter((d) => d.is_deleted === deleted && (!q || d.database_name.toLowerCase().includes(q)))
    .sort((a, b) => {
      const x = a[sort];
      const y = b[sort];
      if (x === y) return a.database_name.localeCompare(b.database_name);
      if (x === null) return 1;
      if (y === null) return -1;
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return dir === 'asc' ? c : -c;
    });
  for (const th of document.querySelectorAll<HTMLElement>('#wf-db-table th[data-sort]')) {
    const on = th.dataset.sort === sort;
    th.classList.toggle('wf-sorted', on);
    th.querySelector('.wf-sort-icon')!.className = `fas ${on ? (dir === 'asc' ? 'fa-sort-up' : 'fa-sort-down') : 'fa-sort'} wf-sort-icon`;
  }
  // The deleted tab adds 删除时间 (when a sync first missed it) next to 最后发现 (the last day it was present).
  for (const th of document.querySelectorAll<HTMLElement>('#wf-db-table .wf-deleted-only')) th.classList.toggle('wf-hidden', !deleted);
  const body = document.getElementById('wf-db-rows')!;
  // Engines with a size method (MySQL/MariaDB) show file bytes and free space instead of log bytes.
  const files = body.dataset.columns === 'files';
  if (!rows.length) {
    body.replaceChildren(
      h(
        'tr',
        {},
        h(
          'td',
          { colspan: (files ? 8 : 7) + (deleted ? 1 : 0), class: 'text-center text-muted py-3' },
          dbs.length || deleted ? (deleted ? t('detail.no_deleted') : t('instances.no_match')) : t('detail.no_databases'),
        ),
      ),
    );
    return;
  }
  body.replaceChildren(
    ...rows.map((d) =>
      h(
        'tr',
        { 'data-database': d.database_name },
        h(
          'td',
          { class: 'wf-name' },
          h('a', { href: `/instances/${id}/databases/${encodeURIComponent(d.database_name)}`, title: t('tables.open') }, d.database_name),
          d.is_system ? h('span', { class: 'badge text-bg-light border ms-1' }, t('detail.system_db')) : null,
          d.is_snapshot ? h('span', { class: 'badge text-bg-light border ms-1', title: t('detail.not_in_total') }, t('detail.snapshot')) : null,
          d.replica_role === 'SECONDARY'
            ? h('span', { class: 'badge text-bg-light border ms-1', title: t('detail.not_in_total') }, t('detail.ag_secondary'))
            : null,
          can('operator') && !d.is_deleted ? collectButton(d.database_name) : null,
          d.note ? h('div', { class: 'small text-warning-emphasis', 'data-col': 'note' }, serverText(d.note, d.note_key, d.note_params)) : null,
          d.error ? h('div', { class: 'small text-danger', 'data-col': 'error' }, serverText(d.error, d.error_key, d.error_params)) : null,
        ),
        h(
          'td',
          { class: 'wf-num', title: fmt.mb(d.size_bytes) },
          fmt.bytes(d.size_bytes),
          d.is_deleted
            ? null
            : h(
                'div',
                { class: 'small text-muted wf-nowrap', 'data-col': 'change-last-sync' },
                `${t('common.since_last_sync')} ${fmt.growth(d.change_last_sync_bytes)}`,
              ),
          files && d.method
            ? h(
                'div',
                { class: 'small text-muted wf-nowrap', 'data-col': 'method', title: serverText(d.method_note, d.method_note_key) },
                `${t('detail.size_method')}: ${d.method}`,
              )
            : null,
        ),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(d.data_bytes)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(d.index_bytes)),
        ...(files
          ? [
              h('td', { class: 'wf-num wf-hide-sm', 'data-col': 'allocated' }, fmt.bytes(d.allocated_bytes)),
              h('td', { class: 'wf-num wf-hide-sm', 'data-col': 'free' }, fmt.bytes(d.free_bytes)),
            ]
          : [h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(d.log_bytes))]),
        h('td', { class: 'wf-nowrap wf-hide-sm' }, fmt.date(d.first_seen_date)),
        h('td', { class: 'wf-nowrap', 'data-col': 'last-seen' }, fmt.date(d.last_seen_date)),
        deleted ? h('td', { class: 'wf-nowrap', 'data-col': 'deleted-at' }, fmt.dateTime(d.deleted_at)) : null,
      ),
    ),
  );
}

/** 采集表容量 for one database (operator): collect its tables, show the server's message, stay on the page. */
function collectButton(database: string): HTMLButtonElement {
  const btn = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-sm btn-outline-info py-0 ms-2 wf-collect-tables',
      title: t('tables.collect'),
      'aria-label': `${t('tables.collect')}: ${database}`,
    },
    h('i', { class: 'fas fa-table', 'aria-hidden': 'true' }),
  );
  btn.addEventListener(
    'click',
    onAsync(async () => {
      try {
        const res = await withSpinner(btn, () => api('POST', `/api/instances/${id}/tables/sync`, { databases: [database] } satisfies TableSyncBody));
        showAlert('success', res.message ?? t('tables.collect'));
      } catch (err) {
        showAlert('danger', err instanceof ApiError ? err.message : t('tables.collect_failed'));
      }
      await loadRecords();
    }),
  );
  return btn;
}

async function loadTrend(): Promise<void> {
  // The radio buttons' values are the route's periods.
  const period = (document.querySelector('input[name="wf-period"]:checked') as HTMLInputElement).value as NonNullable<SeriesQuery['period']>;
  const topN = Number((document.getElementById('wf-top-n') as HTMLSelectElement).value);
  const withSystem = (document.getElementById('wf-include-system') as HTMLInputElement).checked;
  const el = document.getElementById('wf-chart')!;
  const empty = document.getElementById('wf-trend-empty')!;
  try {
    const total = await api<StatSeries>('GET', `/api/statistics/instances/${id}/series?${searchParams({ period } satisfies SeriesQuery)}`);
    // System databases (mysql, sys, postgres, master …) stay out of the top-N lines unless the switch asks for them.
    const top = dbs
      .filter((d) => !d.is_deleted && (withSystem || !d.is_system) && d.size_bytes !== null)
      .sort((a, b) => b.size_bytes! - a.size_bytes!)
      .slice(0, topN);
    const dbSeries = await Promise.all(
      top.map(async (d) => {
        const r = await api<StatSeries>(
          'GET',
          `/api/statistics/instances/${id}/database-series?${searchParams({ period, database: d.database_name } satisfies DatabaseSeriesQuery)}`,
        );
        return { name: d.database_name, points: r.data.points.map((p): [string, number] => [p.period_start, p.last_bytes]) };
      }),
    );
    const series: Series[] = [
      { name: t('detail.series_total'), points: total.data.points.map((p): [string, number] => [p.period_start, p.last_bytes]) },
      ...dbSeries,
    ];
    const categories = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort();
    const none = categories.length === 0;
    empty.classList.toggle('wf-hidden', !none);
    el.classList.toggle('wf-hidden', none);
    if (!none) sizeChart(el, categories, series).resize();
  } catch (err) {
    showAlert('danger', errorText(err));
  }
}

async function loadRecords(): Promise<void> {
  const body = document.getElementById('wf-record-rows')!;
  let recs: SyncRecord[];
  try {
    recs = (await api<SyncRecord[]>('GET', `/api/instances/${id}/sync-records?${searchParams({ limit: 50 } satisfies SyncRecordListQuery)}`)).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  if (!recs.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'text-center text-muted py-3' }, t('detail.no_records'))));
    return;
  }
  body.replaceChildren(
    ...recs.map((r) =>
      h(
        'tr',
        {},
        h('td', { class: 'wf-nowrap' }, fmt.dateTime(r.started_at)),
        h('td', {}, syncBadge(r.status, serverText(r.error_message, r.error_message_key, r.error_params))),
        h('td', { class: 'wf-num' }, r.duration_ms === null ? '—' : `${fmt.number(r.duration_ms)} ms`),
        h('td', { class: 'wf-num' }, fmt.number(r.databases_count)),
        h('td', { class: 'wf-num wf-hide-sm' }, `${r.created_count ?? 0}/${r.deleted_count ?? 0}/${r.restored_count ?? 0}`),
        h('td', { class: 'small text-danger wf-name' }, serverText(r.error_message, r.error_message_key, r.error_params)),
      ),
    ),
  );
}

async function refreshCards(): Promise<void> {
  try {
    const inst = (await api<Instance>('GET', `/api/instances/${id}`)).data;
    const total = document.getElementById('wf-card-total')!;
    total.textContent = fmt.bytes(inst.total_size_bytes);
    total.title = fmt.mb(inst.total_size_bytes);
    document.getElementById('wf-last-sync')!.textContent = inst.last_sync_at ? fmt.dateTime(inst.last_sync_at) : t('instances.never_synced');
  } catch (err) {
    showAlert('danger', errorText(err));
  }
}

const syncBtn = document.getElementById('wf-sync-capacity') as HTMLButtonElement | null;
syncBtn?.addEventListener(
  'click',
  onAsync(async () => {
    try {
      const res = await withSpinner(syncBtn, () => api('POST', `/database-sizes/instances/${id}/sync-capacity`));
      showAlert('success', res.message ?? t('instances.sync_capacity'));
    } catch (err) {
      showAlert('danger', err instanceof ApiError ? err.message : t('instances.sync_failed'));
    }
    await Promise.all([refreshCards(), loadDatabases().then(loadTrend), loadRecords()]);
  }),
);

for (const el of document.querySelectorAll('input[name="wf-db-state"]')) el.addEventListener('change', renderDatabases);
document.getElementById('wf-db-search')!.addEventListener('input', renderDatabases);
for (const th of document.querySelectorAll<HTMLElement>('#wf-db-table th[data-sort]')) {
  th.addEventListener('click', () => {
    const col = th.dataset.sort as SortKey;
    dbState.dir = dbState.sort === col ? (dbState.dir === 'asc' ? 'desc' : 'asc') : col === 'database_name' ? 'asc' : 'desc';
    dbState.sort = col;
    renderDatabases();
  });
}
for (const el of document.querySelectorAll('input[name="wf-period"]')) el.addEventListener('change', () => void loadTrend());
document.getElementById('wf-top-n')!.addEventListener('change', () => void loadTrend());
document.getElementById('wf-include-system')!.addEventListener('change', () => void loadTrend());
// A chart drawn in a hidden tab has no size: draw when the tab is shown.
document.getElementById('wf-tab-trend')!.addEventListener('shown.bs.tab', () => void loadTrend());

void loadDatabases();
void loadRecords();
wireComposition(id);
