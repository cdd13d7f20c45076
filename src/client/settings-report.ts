/**
 * Settings tab: the monthly capacity report's showback (PATCH /api/settings
 * `showback_rate_per_gb_month`, `showback_currency`) and links to open a
 * month's report (GET /api/reports/capacity) in the page's language.
 * Each field is checked here first, with the rule said under the field in the
 * page's language; a refusal by the server is shown as well (alert, and the
 * field it names marked).
 */
import { ApiError, api, clearAlerts, errorText, locale, searchParams, showAlert, t, timeZone, withSpinner } from './ui.js';
import { byId, input } from './settings-common.js';
import type { CapacityReportQuery, UpdateSettingsBody } from './shared/api-types.js';

export interface ShowbackSettings {
  showback_rate_per_gb_month: number;
  showback_currency: string;
}

const RATE = 'showback_rate_per_gb_month';
const CURRENCY = 'showback_currency';
const MAX_RATE = 1_000_000;
let current: ShowbackSettings | undefined;

/** Fill the form from the effective settings (GET or PATCH /api/settings). */
export function showReportSettings(s: ShowbackSettings): void {
  current = s;
  input(`wf-s-${RATE}`).value = String(s.showback_rate_per_gb_month);
  input(`wf-s-${CURRENCY}`).value = s.showback_currency;
  for (const f of [RATE, CURRENCY]) mark(f, null);
  unit();
}

/** The rate as typed: null when empty (back to the default), else a number in range; or the message saying what is wrong. */
export function parseRate(raw: string): { value: number | null } | { error: string } {
  const v = raw.trim();
  if (v === '') return { value: null };
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(v)) return { error: t('settings.showback_rate_not_number') };
  const n = Number(v);
  if (n < 0 || n > MAX_RATE) return { error: t('settings.showback_rate_range') };
  return { value: n };
}

function parseCurrency(raw: string): { value: string | null } | { error: string } {
  const v = raw.trim();
  if (v === '') return { value: null };
  return /^[A-Za-z¥$€£]{1,8}$/.test(v) ? { value: v } : { error: t('settings.showback_currency_invalid') };
}

/** Mark a field invalid with its message (null: valid). */
function mark(field: string, message: string | null): void {
  const el = input(`wf-s-${field}`);
  el.classList.toggle('is-invalid', message !== null);
  el.setAttribute('aria-invalid', message === null ? 'false' : 'true');
  byId(`wf-s-${field}-error`).textContent = message ?? '';
}

/** "CNY / GB·月" beside the rate: the currency as typed once it is valid, else the saved one. */
function unit(): void {
  const typed = parseCurrency(input(`wf-s-${CURRENCY}`).value);
  const c = ('value' in typed && typed.value) || current?.showback_currency || '';
  byId('wf-s-showback-unit').textContent = t('settings.showback_unit', { currency: c });
}

/** This month in the page's time zone, minus one: the month the report on the 1st covers. */
function lastMonth(): string {
  const [y, m] = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).format(new Date()).split('-').map(Number) as [
    number,
    number,
  ];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

function reportLinks(): void {
  const month = input('wf-report-month').value || lastMonth();
  const q = { month, lang: locale } satisfies CapacityReportQuery;
  byId<HTMLAnchorElement>('wf-report-html').href = `/api/reports/capacity?${searchParams(q)}`;
  byId<HTMLAnchorElement>('wf-report-csv').href = `/api/reports/capacity?${searchParams({ ...q, format: 'csv' } satisfies CapacityReportQuery)}`;
}

input('wf-report-month').value = lastMonth();
input('wf-report-month').max = lastMonth().slice(0, 7);
input('wf-report-month').addEventListener('change', reportLinks);
reportLinks();
input(`wf-s-${CURRENCY}`).addEventListener('input', unit);
for (const f of [RATE, CURRENCY]) input(`wf-s-${f}`).addEventListener('input', () => mark(f, null));

byId<HTMLFormElement>('wf-report-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!current) return;
  // One answer per save: the last attempt's alert, not a stack of them.
  clearAlerts();
  const rate = parseRate(input(`wf-s-${RATE}`).value);
  const currency = parseCurrency(input(`wf-s-${CURRENCY}`).value);
  mark(RATE, 'error' in rate ? rate.error : null);
  mark(CURRENCY, 'error' in currency ? currency.error : null);
  if ('error' in rate || 'error' in currency) {
    showAlert('danger', t('settings.fix_fields'));
    input(`wf-s-${'error' in rate ? RATE : CURRENCY}`).focus();
    return;
  }
  // Send only what changed; an emptied field goes back to its default (null).
  const body: UpdateSettingsBody = {};
  if (rate.value !== current.showback_rate_per_gb_month) body[RATE] = rate.value;
  if (currency.value !== current.showback_currency) body[CURRENCY] = currency.value;
  if (!Object.keys(body).length) return void showAlert('success', t('settings.saved'));
  void withSpinner(byId<HTMLButtonElement>('wf-report-save'), async () => {
    try {
      const r = await api<{ settings: ShowbackSettings }>('PATCH', '/api/settings', body);
      showReportSettings(r.data.settings);
      showAlert('success', r.message ?? t('settings.saved'));
    } catch (err) {
      // The server's refusal names its field ("showback_currency: …"): mark that field with the rule in the page's language.
      const text = errorText(err);
      if (err instanceof ApiError) {
        if (text.startsWith(`${RATE}:`)) mark(RATE, t('settings.showback_rate_range'));
        if (text.startsWith(`${CURRENCY}:`)) mark(CURRENCY, t('settings.showback_currency_invalid'));
      }
      showAlert('danger', text);
    }
  });
});
