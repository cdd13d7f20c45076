/**
 * Settings tab: schedule (PATCH /api/settings) and exclusion rules.
 */
import { api, errorText, fmt, h, showAlert, syncBadge, t, withSpinner } from './ui.js';
import { byId, emptyRow, input } from './settings-common.js';
import type { EffectiveSettings as Effective, SettingsView, UpdateSettingsBody } from './shared/api-types.js';
import type { DbType } from '../domain/db-type.js';

const INT_FIELDS = [
  'sync_concurrency',
  'connections_per_instance',
  'connections_total',
  'connect_timeout_ms',
  'sync_timeout_ms',
  'sync_retries',
  'retry_base_delay_ms',
  'retention_days',
  'sync_points_days',
] as const;
const TEXT_FIELDS = ['sync_cron', 'aggregation_cron'] as const;
let view: SettingsView | undefined;

// ---- schedule and exclusions ----

/** Fill the schedule and exclusions tabs; resolves with the effective settings (undefined when the API refused). */
export async function loadSettings(): Promise<Effective | undefined> {
  try {
    view = (await api<SettingsView>('GET', '/api/settings')).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return undefined;
  }
  const { settings: s, defaults: d } = view;
  for (const k of TEXT_FIELDS) {
    input(`wf-s-${k}`).value = s[k];
    input(`wf-s-${k}`).placeholder = d[k];
  }
  for (const k of INT_FIELDS) {
    input(`wf-s-${k}`).value = s[k] === null ? '' : String(s[k]);
    input(`wf-s-${k}`).placeholder = d[k] === null ? t('settings.forever') : String(d[k]);
  }
  input('wf-s-catch_up').checked = s.catch_up;
  byId('wf-s-sync_cron-next').textContent = t('settings.next_run', { at: fmt.dateTime(view.next_runs.capacity_sync) });
  byId('wf-s-aggregation_cron-next').textContent = t('settings.next_run', { at: fmt.dateTime(view.next_runs.daily_aggregation) });
  byId('wf-next-runs').replaceChildren(
    ...(view.scheduler_enabled
      ? Object.entries(view.next_runs).map(([job, at]) =>
          h(
            'li',
            { class: 'list-group-item d-flex justify-content-between gap-2' },
            h('span', {}, t(`job.${job}`)),
            h('span', { class: 'wf-nowrap' }, fmt.dateTime(at)),
          ),
        )
      : [h('li', { class: 'list-group-item text-muted' }, t('settings.scheduler_off'))]),
  );
  byId('wf-recent-runs').replaceChildren(
    ...(view.recent_runs.length
      ? view.recent_runs.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, t(`job.${r.job}`)),
            h(
              'td',
              { class: 'wf-nowrap' },
              r.session_id ? h('a', { href: `/sync-sessions/${r.session_id}` }, fmt.dateTime(r.started_at)) : fmt.dateTime(r.started_at),
            ),
            h('td', {}, syncBadge(r.status)),
            h('td', { class: 'small text-muted wf-name' }, r.message ?? ''),
          ),
        )
      : [emptyRow(4, t('settings.no_runs'))]),
  );
  for (const ta of document.querySelectorAll<HTMLTextAreaElement>('#wf-exclusions-form textarea'))
    ta.value = (s.exclusions[ta.dataset.dbType as DbType] ?? []).join('\n');
  return s;
}

byId<HTMLFormElement>('wf-schedule-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!view) return;
  const body: UpdateSettingsBody = {};
  // Send only what changed; an emptied field goes back to its default (null).
  for (const k of TEXT_FIELDS) {
    const v = input(`wf-s-${k}`).value.trim();
    if (v !== view.settings[k]) body[k] = v === '' ? null : v;
  }
  for (const k of INT_FIELDS) {
    const raw = input(`wf-s-${k}`).value.trim();
    const v = raw === '' ? null : Number(raw);
    if (v !== view.settings[k]) body[k] = v;
  }
  if (input('wf-s-catch_up').checked !== view.settings.catch_up) body.catch_up = input('wf-s-catch_up').checked;
  void withSpinner(byId<HTMLButtonElement>('wf-schedule-save'), async () => {
    try {
      const r = await api<SettingsView>('PATCH', '/api/settings', body);
      showAlert('success', r.message ?? t('settings.saved'));
      await loadSettings();
    } catch (err) {
      showAlert('danger', errorText(err));
    }
  });
});

byId<HTMLFormElement>('wf-exclusions-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const exclusions: Record<string, string[]> = {};
  for (const ta of document.querySelectorAll<HTMLTextAreaElement>('#wf-exclusions-form textarea')) {
    const list = ta.value
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    if (list.length) exclusions[ta.dataset.dbType!] = list;
  }
  void withSpinner(byId<HTMLButtonElement>('wf-exclusions-save'), async () => {
    try {
      const r = await api('PATCH', '/api/settings', { exclusions } satisfies UpdateSettingsBody);
      showAlert('success', r.message ?? t('settings.saved'));
      await loadSettings();
    } catch (err) {
      showAlert('danger', errorText(err));
    }
  });
});
