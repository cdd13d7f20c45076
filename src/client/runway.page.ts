/**
 * 容量预警 / Runway: what runs out first across the estate
 * (GET /api/statistics/runway), filtered by scope, type and tag, with why
 * each item last jumped and a what-if recomputed here from the item's fit
 * (lib/runway.ts `whatIf`: another ceiling, another monthly growth; shown as
 * hypothetical, never saved).
 */
import { whatIf } from '../lib/runway-what-if.js';
import { jumpBlock } from './jumps.js';
import { api, errorText, fieldNumber, fmt, formFields, h, newest, searchParams, showAlert, t } from './ui.js';
import type { RunwayItem, RunwayList, RunwayQuery } from './shared/api-types.js';

type Item = RunwayItem;

const GB = 1024 ** 3;
const BADGE: Record<string, string> = {
  growing: 'text-bg-warning',
  full: 'text-bg-danger',
  not_growing: 'text-bg-success',
  shrinking: 'text-bg-info',
  unpredictable: 'text-bg-secondary',
  no_ceiling: 'text-bg-light border',
};

const form = document.getElementById('wf-rw-filters') as HTMLFormElement;
const box = document.getElementById('wf-whatif')!;
const ceilingIn = document.getElementById('wf-whatif-ceiling') as HTMLInputElement;
const growthIn = document.getElementById('wf-whatif-growth') as HTMLInputElement;
let chosen: Item | null = null;

/** The filter form's fields (runway.eta) by the route's names; its selects offer the route's values. */
function params(): RunwayQuery {
  const f = formFields(form);
  return { scope: f.scope as RunwayQuery['scope'], db_type: f.db_type as RunwayQuery['db_type'], tag: f.tag, limit: fieldNumber(f.limit) };
}

const interval = (low: number | null, high: number | null) =>
  low === null ? t('runway.none_short') : t('runway.interval', { low, high: high === null ? '∞' : high });

function daysText(x: { state: string; days_until_full: number | null; full_date: string | null; low_days: number | null; high_days: number | null }): string {
  if (x.days_until_full === null) return t(`runway.state.${x.state}`);
  return `${t('runway.days', { n: x.days_until_full })} (${fmt.date(x.full_date)}), ${interval(x.low_days, x.high_days)}`;
}

function renderWhatIf(): void {
  if (!chosen) return;
  const out = document.getElementById('wf-whatif-result')!;
  document.getElementById('wf-whatif-actual')!.textContent = t('runway.whatif_actual', { text: daysText(chosen) });
  if (!chosen.fit) {
    out.textContent = t('runway.whatif_no_fit');
    return;
  }
  const ceiling = Number(ceilingIn.value) * GB;
  const pct = Number(growthIn.value);
  if (!(ceiling > 0) || !Number.isFinite(pct)) {
    out.textContent = '';
    return;
  }
  const w = whatIf(chosen.fit, ceiling, pct);
  out.textContent =
    w.state === 'growing'
      ? t('runway.whatif_result', { days: w.days_until_full!, date: fmt.date(w.full_date), interval: interval(w.low_days, w.high_days) })
      : w.state === 'full'
        ? t('runway.whatif_full')
        : t('runway.whatif_not_growing');
}

function openWhatIf(x: Item): void {
  chosen = x;
  const name = x.database_name ? `${x.instance_name} / ${x.database_name}` : x.instance_name;
  document.getElementById('wf-whatif-title')!.textContent = t('runway.whatif_title', { name });
  const ceiling = x.ceiling_bytes ?? (x.fit ? x.fit.level_bytes * 2 : 0);
  ceilingIn.value = String(Math.round((ceiling / GB) * 100) / 100);
  // The fitted growth as % of the fitted size per 30 days: the starting point reproduces the forecast.
  growthIn.value = x.fit && x.fit.level_bytes > 0 ? String(Math.round(((x.fit.slope * 30) / x.fit.level_bytes) * 100 * 1000) / 1000) : '0';
  box.classList.remove('d-none');
  renderWhatIf();
  box.scrollIntoView({ block: 'nearest' });
}

const loads = newest();

async function load(): Promise<void> {
  const mine = loads();
  const filters = params();
  const q = searchParams(filters);
  (document.getElementById('wf-rw-csv') as HTMLAnchorElement).href =
    `/api/statistics/runway?${searchParams({ ...filters, format: 'csv' } satisfies RunwayQuery)}`;
  let r: RunwayList;
  try {
    r = (await api<typeof r>('GET', `/api/statistics/runway?${q}`)).data;
  } catch (err) {
    if (mine()) showAlert('danger', errorText(err));
    return;
  }
  if (!mine()) return; // the filters changed meanwhile: their answer draws the rows
  document.getElementById('wf-rw-meta')!.textContent = t('runway.meta', { total: r.total, at: fmt.dateTime(r.computed_at), days: r.window_days });
  const body = document.getElementById('wf-rw-rows')!;
  if (!r.items.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 12, class: 'text-center text-muted py-3' }, t('runway.none'))));
    return;
  }
  body.replaceChildren(
    ...r.items.map((x, i) => {
      const href = x.database_name ? `/instances/${x.instance_id}/databases/${encodeURIComponent(x.database_name)}` : `/instances/${x.instance_id}`;
      return h(
        'tr',
        { 'data-state': x.state },
        h('td', { class: 'wf-num text-muted' }, i + 1),
        h(
          'td',
          { class: 'wf-name' },
          h('a', { href }, x.database_name ?? x.instance_name),
          h('div', { class: 'small text-muted' }, x.database_name ? `${x.instance_name} · ${x.db_type}` : x.db_type),
        ),
        h('td', {}, h('span', { class: `badge ${BADGE[x.state] ?? 'text-bg-secondary'} wf-state` }, t(`runway.state.${x.state}`))),
        h(
          'td',
          { class: 'wf-num wf-days' },
          x.days_until_full === null ? t('runway.none_short') : t('runway.days', { n: x.days_until_full }),
          x.full_date ? h('div', { class: 'small text-muted' }, fmt.date(x.full_date)) : null,
        ),
        h('td', { class: 'wf-num wf-hide-sm' }, x.days_until_full === null ? t('runway.none_short') : interval(x.low_days, x.high_days)),
        h('td', { class: 'wf-num wf-hide-sm' }, x.growth_bytes_per_day === null ? t('runway.none_short') : fmt.change(x.growth_bytes_per_day)),
        h('td', { class: 'wf-num wf-hide-sm' }, fmt.bytes(x.latest_bytes)),
        h(
          'td',
          { class: 'wf-num wf-hide-sm' },
          x.ceiling_bytes === null ? t('runway.none_short') : fmt.bytes(x.ceiling_bytes),
          x.ceiling_source ? h('div', { class: 'small text-muted' }, t(`runway.source.${x.ceiling_source}`)) : null,
        ),
        h('td', { class: 'wf-hide-sm' }, x.change_point_date ? fmt.date(x.change_point_date) : t('runway.none_short')),
        h('td', { class: 'wf-num wf-hide-sm' }, x.backtest_mape === null ? t('runway.none_short') : `${x.backtest_mape.toFixed(1)}%`),
        h('td', { class: 'wf-hide-sm' }, x.jumps.length ? jumpBlock(x.jumps[0]!) : t('runway.none_short')),
        h(
          'td',
          {},
          h(
            'button',
            { type: 'button', class: 'btn btn-outline-secondary btn-sm text-nowrap wf-whatif-open', onclick: () => openWhatIf(x) },
            t('runway.whatif_open'),
          ),
        ),
      );
    }),
  );
}

ceilingIn.addEventListener('input', renderWhatIf);
growthIn.addEventListener('input', renderWhatIf);
document.getElementById('wf-whatif-close')!.addEventListener('click', () => {
  chosen = null;
  box.classList.add('d-none');
});
form.addEventListener('change', () => void load());
form.addEventListener('submit', (e) => e.preventDefault());
void load();
