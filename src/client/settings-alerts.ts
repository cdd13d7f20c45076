/**
 * Settings tab: alert rules with their webhooks, recent alert events and their delivery log.
 */
import { api, errorText, fmt, h, icon, modal, searchParams, serverText, showAlert, t, withSpinner } from './ui.js';
import type {
  AlertChannel,
  AlertEvent as AlertEventDetail,
  AlertEventListQuery,
  AlertEventPage,
  AlertEventRow as AlertEvent,
  AlertRule as Rule,
  CreateAlertRuleBody,
  UpdateAlertRuleBody,
} from './shared/api-types.js';
import { byId, emptyRow, GB, input, MB } from './settings-common.js';
import { builtinRuleNameKey } from '../lib/builtin-rules.js';

/** A rule's name as this screen shows it: a built-in rule's in the user's language, an admin's own as typed. */
function ruleLabel(name: string): string {
  const key = builtinRuleNameKey(name);
  return key ? t(key) : name;
}

/** A channel as the rule form edits it: a new one has no stored secret yet. */
type Channel = Pick<AlertChannel, 'type' | 'url'> & Partial<Pick<AlertChannel, 'has_secret'>>;

/** Robots that sign with a secret (DingTalk 加签, Feishu). */
const SIGNING = new Set(['dingtalk', 'feishu', 'feishu_card']);

// ---- alert rules, events, deliveries ----

/** Which fields each rule kind uses (the service refuses the others). */
const KIND_FIELDS: Record<string, string[]> = {
  size_above: ['threshold', 'database_pattern'],
  growth_pct: ['threshold', 'window', 'database_pattern'],
  growth_bytes: ['threshold', 'window', 'database_pattern'],
  days_until_full: ['threshold', 'limit_bytes', 'database_pattern'],
  database_disappeared: ['database_pattern'],
  sync_failing: ['consecutive'],
};
/** Thresholds in bytes are entered in MB. */
const BYTE_KINDS = new Set(['size_above', 'growth_bytes']);
let rules: Rule[] = [];
let editing: Rule | null = null;
let channelsTouched = false;

function condition(r: Rule): string {
  switch (r.kind) {
    case 'size_above':
      return `> ${fmt.bytes(r.threshold)}`;
    case 'growth_pct':
      return `> ${r.threshold}% / ${t(`rule_window.${r.window}`)}`;
    case 'growth_bytes':
      return `> ${fmt.bytes(r.threshold)} / ${t(`rule_window.${r.window}`)}`;
    case 'days_until_full':
      return t('settings.cond_days', { n: r.threshold ?? '—' });
    case 'sync_failing':
      return t('settings.cond_failing', { n: r.consecutive ?? 3 });
    default:
      return '—';
  }
}

function scopeText(r: Rule): string {
  const parts = [
    r.instance_id ? (instances.find((i) => i.id === r.instance_id)?.name ?? `#${r.instance_id}`) : '',
    r.db_type ?? '',
    r.tag ? `#${r.tag}` : '',
    r.database_pattern ?? '',
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : t('settings.scope_all');
}

let instances: { id: number; name: string }[] = [];

export async function loadRules(): Promise<void> {
  try {
    rules = (await api<Rule[]>('GET', '/api/alert-rules')).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  byId('wf-rules').replaceChildren(
    ...(rules.length
      ? rules.map((r) => {
          const edit = h(
            'button',
            { type: 'button', class: 'btn btn-outline-secondary btn-sm me-1', title: t('common.edit'), 'aria-label': t('common.edit') },
            icon('fas fa-pen'),
          );
          edit.addEventListener('click', () => openRule(r));
          const del = h(
            'button',
            { type: 'button', class: 'btn btn-outline-danger btn-sm', title: t('common.delete'), 'aria-label': t('common.delete') },
            icon('fas fa-trash'),
          );
          del.addEventListener('click', () => {
            if (!window.confirm(t('settings.confirm_delete_rule', { name: ruleLabel(r.name) }))) return;
            void withSpinner(del, async () => {
              try {
                const res = await api('DELETE', `/api/alert-rules/${r.id}`);
                showAlert('success', res.message ?? t('settings.saved'));
                await Promise.all([loadRules(), loadEvents()]);
              } catch (err) {
                showAlert('danger', errorText(err));
              }
            });
          });
          return h(
            'tr',
            { 'data-wf-rule': r.name },
            h('td', { class: 'wf-name' }, ruleLabel(r.name)),
            h('td', {}, t(`rule_kind.${r.kind}`)),
            h('td', { class: 'wf-hide-sm wf-name small' }, scopeText(r)),
            h('td', { class: 'wf-nowrap' }, condition(r)),
            h('td', { class: 'wf-hide-sm small' }, r.channels.length ? r.channels.map((c) => t(`channel.${c.type}`)).join(', ') : t('common.none')),
            h(
              'td',
              {},
              r.is_active ? h('span', { class: 'badge text-bg-success' }, t('common.yes')) : h('span', { class: 'badge text-bg-secondary' }, t('common.no')),
            ),
            h('td', { class: 'text-end wf-nowrap' }, edit, del),
          );
        })
      : [emptyRow(7, t('settings.no_rules'))]),
  );
}

export async function loadEvents(): Promise<void> {
  let page: AlertEventPage;
  try {
    page = (await api<AlertEventPage>('GET', `/api/alerts?${searchParams({ limit: 20 } satisfies AlertEventListQuery)}`)).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  byId('wf-events').replaceChildren(
    ...(page.items.length
      ? page.items.map((e) => {
          const show = h('button', { type: 'button', class: 'btn btn-outline-secondary btn-sm' }, icon('fas fa-list me-1'), t('settings.deliveries'));
          show.addEventListener('click', () => void openEvent(e));
          return h(
            'tr',
            {},
            h('td', {}, h('span', { class: `badge text-bg-${e.state === 'firing' ? 'danger' : 'success'}` }, t(`alert_state.${e.state}`))),
            h('td', { class: 'wf-name' }, ruleLabel(e.rule_name)),
            h('td', { class: 'wf-name small' }, serverText(e.message, e.message_key, e.message_params)),
            h('td', { class: 'wf-hide-sm wf-nowrap' }, fmt.dateTime(e.fired_at)),
            h('td', { class: 'wf-hide-sm wf-nowrap' }, fmt.dateTime(e.resolved_at)),
            h('td', { class: 'text-end' }, show),
          );
        })
      : [emptyRow(6, t('settings.no_events'))]),
  );
}

async function openEvent(e: AlertEvent): Promise<void> {
  let detail: AlertEventDetail;
  try {
    detail = (await api<AlertEventDetail>('GET', `/api/alerts/${e.id}`)).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  const body = byId('wf-event-body');
  body.replaceChildren(
    h('p', { class: 'wf-name' }, serverText(detail.message, detail.message_key, detail.message_params)),
    detail.deliveries.length
      ? h(
          'div',
          { class: 'table-responsive' },
          h(
            'table',
            { class: 'table table-sm wf-table small' },
            h(
              'thead',
              { class: 'table-light' },
              h(
                'tr',
                {},
                ...[
                  'settings.delivery_transition',
                  'settings.delivery_channel',
                  'settings.delivery_url',
                  'settings.delivery_attempts',
                  'sessions.col_status',
                  'detail.records_error',
                ].map((k) => h('th', { scope: 'col' }, t(k))),
              ),
            ),
            h(
              'tbody',
              {},
              ...detail.deliveries.map((d) =>
                h(
                  'tr',
                  {},
                  h('td', {}, t(`alert_state.${d.transition}`)),
                  h('td', {}, t(`channel.${d.channel}`)),
                  h('td', { class: 'wf-mono wf-name' }, d.url),
                  h('td', { class: 'wf-num' }, d.attempt),
                  h(
                    'td',
                    {},
                    h(
                      'span',
                      { class: `badge text-bg-${d.status === 'delivered' ? 'success' : d.status === 'failed' ? 'danger' : 'secondary'}` },
                      t(`delivery_status.${d.status}`),
                    ),
                    d.http_status ? ` HTTP ${d.http_status}` : '',
                  ),
                  h('td', { class: 'text-danger wf-name' }, d.error ?? ''),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'text-muted' }, t('settings.no_deliveries')),
  );
  modal(byId('wf-event-modal')).show();
}

function channelRow(c: Channel = { type: 'generic', url: '' }): HTMLElement {
  const types = JSON.parse(byId('wf-r-channels').dataset.types ?? '[]') as string[];
  const row = h(
    'div',
    { class: 'input-group mb-2', 'data-wf-channel': '' },
    h(
      'select',
      { class: 'form-select wf-channel-type', 'aria-label': t('settings.webhook_type') },
      ...types.map((ty) => h('option', { value: ty, selected: ty === c.type }, t(`channel.${ty}`))),
    ),
    h('input', {
      class: 'form-control wf-mono wf-channel-url',
      type: 'url',
      value: c.url,
      placeholder: 'https://…',
      maxlength: 2000,
      'aria-label': t('settings.webhook_url'),
    }),
    h('input', {
      class: 'form-control wf-mono wf-channel-secret',
      type: 'password',
      autocomplete: 'off',
      maxlength: 200,
      placeholder: c.has_secret ? t('settings.webhook_secret_set') : t('settings.webhook_secret'),
      title: t('settings.webhook_secret'),
      'aria-label': t('settings.webhook_secret'),
    }),
  );
  const typeSel = row.querySelector<HTMLSelectElement>('.wf-channel-type')!;
  const secret = row.querySelector<HTMLInputElement>('.wf-channel-secret')!;
  const showSecret = () => secret.classList.toggle('wf-hidden', !SIGNING.has(typeSel.value));
  typeSel.addEventListener('change', showSecret);
  showSecret();
  const remove = h(
    'button',
    { type: 'button', class: 'btn btn-outline-danger', title: t('common.delete'), 'aria-label': t('common.delete') },
    icon('fas fa-xmark'),
  );
  remove.addEventListener('click', () => {
    channelsTouched = true;
    row.remove();
  });
  row.append(remove);
  row.addEventListener('input', () => (channelsTouched = true));
  return row;
}

function applyKind(): void {
  const kind = byId<HTMLSelectElement>('wf-r-kind').value;
  const used = new Set(KIND_FIELDS[kind] ?? []);
  for (const el of document.querySelectorAll<HTMLElement>('[data-wf-for]')) el.classList.toggle('wf-hidden', !used.has(el.dataset.wfFor!));
  byId('wf-r-unit').textContent = BYTE_KINDS.has(kind) ? '(MB)' : kind === 'growth_pct' ? '(%)' : kind === 'days_until_full' ? t('settings.unit_days') : '';
}

function openRule(r: Rule | null): void {
  editing = r;
  channelsTouched = false;
  byId('wf-rule-alerts').replaceChildren();
  byId('wf-rule-modal-title').textContent = r ? t('settings.edit_rule', { name: ruleLabel(r.name) }) : t('settings.add_rule');
  input('wf-r-name').value = r?.name ?? '';
  byId<HTMLSelectElement>('wf-r-kind').value = r?.kind ?? 'size_above';
  input('wf-r-threshold').value = r?.threshold === null || r?.threshold === undefined ? '' : String(BYTE_KINDS.has(r.kind) ? r.threshold / MB : r.threshold);
  byId<HTMLSelectElement>('wf-r-window').value = r?.window ?? 'day';
  input('wf-r-consecutive').value = r?.consecutive ? String(r.consecutive) : '';
  input('wf-r-limit').value = r?.limit_bytes ? String(r.limit_bytes / GB) : '';
  byId<HTMLSelectElement>('wf-r-instance').value = r?.instance_id ? String(r.instance_id) : '';
  byId<HTMLSelectElement>('wf-r-db_type').value = r?.db_type ?? '';
  input('wf-r-tag').value = r?.tag ?? '';
  input('wf-r-pattern').value = r?.database_pattern ?? '';
  input('wf-r-active').checked = r?.is_active ?? true;
  byId('wf-r-channels').replaceChildren(...(r?.channels ?? []).map((c) => channelRow(c)));
  byId('wf-r-channels-hint').classList.toggle('wf-hidden', !r);
  applyKind();
  modal(byId('wf-rule-modal')).show();
}

byId<HTMLSelectElement>('wf-r-kind').addEventListener('change', applyKind);
byId('wf-rule-add').addEventListener('click', () => openRule(null));
byId('wf-r-add-channel').addEventListener('click', () => {
  channelsTouched = true;
  byId('wf-r-channels').append(channelRow());
});

byId<HTMLFormElement>('wf-rule-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  // The select's options are the rule kinds, its window options the windows, a channel's type options the channel types.
  const kind = byId<HTMLSelectElement>('wf-r-kind').value as Rule['kind'];
  const used = new Set(KIND_FIELDS[kind] ?? []);
  const num = (id: string) => (input(id).value.trim() === '' ? null : Number(input(id).value));
  const thr = num('wf-r-threshold');
  const limitGb = num('wf-r-limit');
  const body: CreateAlertRuleBody = {
    name: input('wf-r-name').value.trim(),
    kind,
    instance_id: byId<HTMLSelectElement>('wf-r-instance').value ? Number(byId<HTMLSelectElement>('wf-r-instance').value) : null,
    db_type: byId<HTMLSelectElement>('wf-r-db_type').value || null,
    tag: input('wf-r-tag').value.trim() || null,
    database_pattern: used.has('database_pattern') ? input('wf-r-pattern').value.trim() || null : null,
    threshold: used.has('threshold') && thr !== null ? (BYTE_KINDS.has(kind) ? Math.round(thr * MB) : thr) : null,
    window: used.has('window') ? (byId<HTMLSelectElement>('wf-r-window').value as NonNullable<Rule['window']>) : null,
    consecutive: used.has('consecutive') ? num('wf-r-consecutive') : null,
    limit_bytes: used.has('limit_bytes') && limitGb !== null ? Math.round(limitGb * GB) : null,
    is_active: input('wf-r-active').checked,
  };
  // On edit, untouched webhooks are left out so the stored (masked here) URLs are kept.
  if (!editing || channelsTouched) {
    body.channels = [...document.querySelectorAll<HTMLElement>('[data-wf-channel]')].map((row) => {
      const type = row.querySelector<HTMLSelectElement>('.wf-channel-type')!.value as AlertChannel['type'];
      const secret = row.querySelector<HTMLInputElement>('.wf-channel-secret')!.value.trim();
      // No secret typed: the stored one (if any) is kept for the same type and URL.
      return { type, url: row.querySelector<HTMLInputElement>('.wf-channel-url')!.value.trim(), ...(secret && SIGNING.has(type) ? { secret } : {}) };
    });
  }
  void withSpinner(byId<HTMLButtonElement>('wf-rule-save'), async () => {
    try {
      const r = editing
        ? await api('PATCH', `/api/alert-rules/${editing.id}`, body satisfies UpdateAlertRuleBody)
        : await api('POST', '/api/alert-rules', body);
      modal(byId('wf-rule-modal')).hide();
      showAlert('success', r.message ?? t('settings.saved'));
      await loadRules();
    } catch (err) {
      byId('wf-rule-alerts').replaceChildren(h('div', { class: 'alert alert-danger', role: 'alert' }, errorText(err)));
    }
  });
});

export async function loadInstances(): Promise<void> {
  try {
    instances = (await api<{ id: number; name: string }[]>('GET', '/api/instances')).data.map((i) => ({ id: i.id, name: i.name }));
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  byId('wf-r-instance').append(...instances.map((i) => h('option', { value: i.id }, i.name)));
}
