/** Top growing tables across the estate (or one instance): GET /api/tables/top-growing, each row linking to its database page and trend. */
import { api, errorText, fieldNumber, fmt, formFields, h, newest, searchParams, showAlert, t } from './ui.js';
import type { TopGrowingQuery, TopGrowingTables } from './shared/api-types.js';

const form = document.getElementById('wf-top-filters') as HTMLFormElement;

/** The filter form's fields (top-tables.eta) by the route's names. */
function params(): TopGrowingQuery {
  const f = formFields(form);
  return { days: fieldNumber(f.days), instance_id: fieldNumber(f.instance_id), limit: fieldNumber(f.limit) };
}

const loads = newest();

async function load(): Promise<void> {
  const mine = loads();
  const filters = params();
  const q = searchParams(filters);
  (document.getElementById('wf-top-csv') as HTMLAnchorElement).href =
    `/api/tables/top-growing?${searchParams({ ...filters, format: 'csv' } satisfies TopGrowingQuery)}`;
  let r: TopGrowingTables;
  try {
    r = (await api<TopGrowingTables>('GET', `/api/tables/top-growing?${q}`)).data;
  } catch (err) {
    if (mine()) showAlert('danger', errorText(err));
    return;
  }
  if (!mine()) return; // the filters changed meanwhile: their answer draws the rows
  document.getElementById('wf-top-window')!.textContent =
    r.from && r.to && r.from !== r.to ? t('tables.window', { from: fmt.date(r.from), to: fmt.date(r.to) }) : '';
  const body = document.getElementById('wf-top-rows')!;
  if (!r.items.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'text-center text-muted py-3' }, t('tables.top_none'))));
    return;
  }
  body.replaceChildren(
    ...r.items.map((x, i) =>
      h(
        'tr',
        {},
        h('td', { class: 'wf-num text-muted' }, i + 1),
        h(
          'td',
          { class: 'wf-name' },
          h(
            'a',
            { href: `/instances/${x.instance_id}/databases/${encodeURIComponent(x.database_name)}?table=${x.table_id}` },
            x.schema_name ? `${x.schema_name}.${x.table_name}` : x.table_name,
          ),
          // Narrow screens: where it lives, under its name (the instance and database columns are hidden).
          h('div', { class: 'small text-muted d-sm-none' }, `${x.instance_name} / ${x.database_name} · ${fmt.bytes(x.last_bytes)}`),
        ),
        h('td', { class: 'wf-name wf-hide-sm' }, h('a', { href: `/instances/${x.instance_id}` }, x.instance_name)),
        h(
          'td',
          { class: 'wf-name wf-hide-sm' },
          h('a', { href: `/instances/${x.instance_id}/databases/${encodeURIComponent(x.database_name)}` }, x.database_name),
        ),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(x.first_bytes)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(x.last_bytes)),
        h('td', { class: `wf-num ${x.change_bytes > 0 ? 'wf-change-up' : x.change_bytes < 0 ? 'wf-change-down' : ''}` }, fmt.change(x.change_bytes)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.pct(x.change_pct)),
      ),
    ),
  );
}

form.addEventListener('change', () => void load());
form.addEventListener('submit', (e) => e.preventDefault());
void load();
