/**
 * Capacity statistics (/capacity/instances, /capacity/databases): filters →
 * GET /api/statistics/capacity → cards, three charts (trend, change, change %)
 * each switchable line/bar, the TOP N table; the CSV link always exports the
 * same query (what is shown).
 */
import { noValues, sizeChart, type Series } from './charts.js';
import { api, errorText, fieldNumber, fmt, formFields, h, newest, searchParams, showAlert, t } from './ui.js';
import type { CapacityItem as Item, CapacityPoint as Point, CapacityQuery, CapacityStatistics as Capacity } from './shared/api-types.js';

type ChartId = 'trend' | 'change' | 'change_pct';

const root = document.getElementById('wf-capacity')!;
const scope = root.dataset.scope === 'database' ? 'database' : 'instance';
const form = document.getElementById('wf-cap-filters') as HTMLFormElement;
const exportLink = document.getElementById('wf-export') as HTMLAnchorElement;
const engines = JSON.parse(root.dataset.engines ?? '[]') as { db_type: string; label: string }[];
const engineLabel = (db: string) => engines.find((e) => e.db_type === db)?.label ?? db;
const chartType: Record<ChartId, 'line' | 'bar'> = { trend: 'line', change: 'line', change_pct: 'line' };
let current: Capacity | undefined;

/** The filter form's fields (capacity.eta) by the route's names; its selects offer the route's values. */
function query(): CapacityQuery {
  const f = formFields(form);
  return {
    scope,
    db_type: f.db_type as CapacityQuery['db_type'],
    instance_id: fieldNumber(f.instance_id),
    database: f.database,
    period: f.period as CapacityQuery['period'],
    // A start date replaces "last N periods".
    last: f.from ? undefined : (fieldNumber(f.last) as CapacityQuery['last']),
    from: f.from,
    to: f.to,
    top: fieldNumber(f.top) as CapacityQuery['top'],
    include_system: f.include_system === 'true' ? true : undefined,
  };
}

const label = (it: Item) => (scope === 'database' ? `${it.instance_name} / ${it.database_name}` : it.instance_name);
const changeClass = (v: number | null) => (v === null || v === 0 ? '' : v > 0 ? 'wf-change-up' : 'wf-change-down');

const loads = newest();

async function load(): Promise<void> {
  const mine = loads();
  const filters = query();
  const q = searchParams(filters);
  exportLink.href = `/api/statistics/capacity?${searchParams({ ...filters, format: 'csv' } satisfies CapacityQuery)}`;
  let answer: Capacity;
  try {
    answer = (await api<Capacity>('GET', `/api/statistics/capacity?${q}`)).data;
  } catch (err) {
    if (mine()) showAlert('danger', errorText(err));
    return;
  }
  if (!mine()) return; // the filters changed meanwhile: their answer draws the page
  current = answer;
  render(current);
}

function render(d: Capacity): void {
  const c = d.cards;
  document.getElementById('wf-cap-range')!.textContent = t('capacity.range', {
    from: fmt.date(d.from),
    to: fmt.date(d.to),
    period: t(`capacity.period_${d.period}`),
    latest: fmt.date(c.latest_period),
  });
  document.getElementById('wf-card-online')!.textContent = `${fmt.number(c.items_online)} / ${fmt.number(c.items_total)}`;
  setValue('wf-card-total', c.total_bytes);
  setValue('wf-card-average', c.average_bytes);
  setValue('wf-card-max', c.max_bytes);
  document.getElementById('wf-card-max-name')!.textContent = c.max_item
    ? `(${scope === 'database' ? `${c.max_item.instance_name} / ${c.max_item.database_name}` : c.max_item.instance_name})`
    : '';
  const same = d.same_server_excluded;
  const sameEl = document.getElementById('wf-cap-same-server')!;
  sameEl.classList.toggle('wf-hidden', same.instances.length === 0);
  sameEl.querySelector('span')!.textContent = same.instances.length
    ? t('capacity.same_server', {
        items: fmt.list(same.instances.map((e) => t('capacity.same_server_item', { name: e.instance_name, counted: e.counted_as_instance_name }))),
        bytes: fmt.bytes(same.bytes),
      })
    : '';
  const empty = d.items.length === 0;
  document.getElementById('wf-cap-empty')!.classList.toggle('wf-hidden', !empty);
  document.getElementById('wf-cap-charts')!.classList.toggle('wf-hidden', empty);
  if (empty) return;
  for (const id of ['trend', 'change', 'change_pct'] as ChartId[]) draw(id);
  renderTable(d);
}

function setValue(id: string, bytes: number | null): void {
  const el = document.getElementById(id)!;
  el.textContent = fmt.bytes(bytes);
  el.title = fmt.mb(bytes);
}

function draw(id: ChartId): void {
  if (!current) return;
  // Periods are named by their first day, in the user's date format.
  const categories = current.periods.map((p) => fmt.date(p.period_start));
  const pick = (p: Point) => (id === 'trend' ? p.size_bytes : id === 'change' ? p.change_bytes : p.change_pct);
  const points = (list: Point[]): [string, number | null][] => list.map((p) => [fmt.date(p.period_start), pick(p)]);
  const series: Series[] = current.items.map((it) => ({ name: label(it), type: chartType[id], points: points(it.points) }));
  // The total of everything filtered, not only the TOP N.
  series.unshift({ name: t('capacity.series_total'), type: chartType[id], points: points(current.total) });
  const format = id === 'trend' ? fmt.bytes : id === 'change' ? fmt.change : fmt.pct;
  const el = document.getElementById(`wf-chart-${id}`)!;
  // A change needs an earlier period: with one period only, say so instead of drawing an empty plot.
  const none = id !== 'trend' && noValues(series);
  document.getElementById(`wf-chart-${id}-note`)!.classList.toggle('wf-hidden', !none);
  el.classList.toggle('wf-hidden', none);
  if (!none) sizeChart(el, categories, series, format).resize();
}

function renderTable(d: Capacity): void {
  document.getElementById('wf-cap-table-title')!.textContent = t(scope === 'database' ? 'capacity.table_top_databases' : 'capacity.table_top_instances', {
    n: d.top,
  });
  const rows = d.items.map((it, i) => {
    const last = it.points[it.points.length - 1]!;
    return h(
      'tr',
      { 'data-wf-item': label(it) },
      h('td', {}, i + 1),
      h('td', { class: 'wf-name' }, h('a', { href: `/instances/${it.instance_id}` }, it.instance_name)),
      scope === 'database' ? h('td', { class: 'wf-name' }, it.database_name) : null,
      h('td', { class: 'wf-hide-sm' }, h('span', { class: 'badge text-bg-secondary', 'data-db-type': it.db_type }, engineLabel(it.db_type))),
      h('td', { class: 'wf-num', title: fmt.mb(it.latest_bytes) }, fmt.bytes(it.latest_bytes)),
      h('td', { class: `wf-num ${changeClass(last.change_bytes)}` }, fmt.change(last.change_bytes)),
      h('td', { class: `wf-num ${changeClass(last.change_pct)}` }, fmt.pct(last.change_pct)),
    );
  });
  document.getElementById('wf-cap-rows')!.replaceChildren(...rows);
}

for (const btn of document.querySelectorAll<HTMLButtonElement>('[data-wf-chart]')) {
  btn.addEventListener('click', () => {
    const id = btn.dataset.wfChart as ChartId;
    chartType[id] = btn.dataset.wfType === 'bar' ? 'bar' : 'line';
    for (const b of document.querySelectorAll<HTMLButtonElement>(`[data-wf-chart="${id}"]`)) b.classList.toggle('active', b === btn);
    draw(id);
  });
}

// Choosing a db type narrows the instance list to that type.
const typeSel = document.getElementById('wf-cap-db-type') as HTMLSelectElement;
const instSel = document.getElementById('wf-cap-instance') as HTMLSelectElement;
typeSel.addEventListener('change', () => {
  for (const o of instSel.options) if (o.value) o.hidden = !!typeSel.value && o.dataset.dbType !== typeSel.value;
  if (instSel.selectedOptions[0]?.hidden) instSel.value = '';
});

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void load();
});
form.addEventListener('reset', () => setTimeout(() => void load(), 0));
void load();
// The system-databases switch applies at once (the other filters wait for 应用).
document.getElementById('wf-cap-include-system')?.addEventListener('change', () => void load());
