/**
 * The instances page: server-side filtered/sorted/paged table from
 * GET /api/instances/overview, the per-row 同步容量 button (the seed's
 * behaviour: spinner, disabled, the server's message in an alert, then the
 * row's figures refreshed without a page reload), 批量同步 with live
 * progress, and the add/edit form with 测试连接 + doctor.
 */
import { cancelSession } from './sessions.js';
import { api, ApiError, can, errorText, fmt, h, icon, modal, showAlert, syncBadge, t, withSpinner } from './ui.js';

interface Row {
  id: number;
  name: string;
  db_type: string;
  host: string;
  port: number;
  database_name: string | null;
  credential_id: number | null;
  is_active: boolean;
  description: string | null;
  tags: string[];
  options: Record<string, unknown>;
  tls?: { ca: CertInfo | null; cert: CertInfo | null; key_set: boolean };
  total_size_bytes: number | null;
  database_count: number | null;
  change_7d_bytes: number | null;
  last_sync_status: string | null;
  last_sync_at: string | null;
  last_sync_error: string | null;
}
interface Overview {
  items: Row[];
  total: number;
  limit: number;
  offset: number;
  tags: string[];
}
interface Engine {
  db_type: string;
  label: string;
  default_port: number;
  needs_database_name: boolean;
}

const engines = JSON.parse(document.getElementById('wf-list')?.dataset.engines ?? '[]') as Engine[];
const engineLabel = (db: string) => engines.find((e) => e.db_type === db)?.label ?? db;
const state = { sort: 'name', dir: 'asc' as 'asc' | 'desc', limit: 50, offset: 0 };
const selected = new Set<number>();
let current: Overview | undefined;
const filters = document.getElementById('wf-filters') as HTMLFormElement;
const tbody = document.getElementById('wf-rows')!;
const COLS = can('operator') ? 11 : 10;

function query(): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of new FormData(filters)) if (typeof v === 'string' && v.trim()) p.set(k, v.trim());
  p.set('sort', state.sort);
  p.set('dir', state.dir);
  p.set('limit', String(state.limit));
  p.set('offset', String(state.offset));
  return p;
}

let loadSeq = 0;
export async function load(): Promise<void> {
  const seq = ++loadSeq;
  let data: Overview;
  try {
    data = (await api<Overview>('GET', `/api/instances/overview?${query()}`)).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  if (seq !== loadSeq) return; // a newer request is on its way
  current = data;
  renderTags(data.tags);
  exportLinks();
  renderRows(data);
}

/** 导出 exports what the tag filter shows (the export API filters by one tag only). */
function exportLinks(): void {
  const tag = (document.getElementById('wf-filter-tag') as HTMLSelectElement).value;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('.wf-export-link')) {
    const q = new URLSearchParams({ format: a.dataset.format ?? 'csv' });
    if (tag) q.set('tag', tag);
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

function changeCell(bytes: number | null): HTMLElement {
  const cls = bytes === null || bytes === 0 ? 'text-muted' : bytes > 0 ? 'wf-change-up' : 'wf-change-down';
  return h('td', { class: `wf-num ${cls}`, 'data-col': 'change' }, bytes !== null && bytes !== 0 ? icon(`fas fa-arrow-${bytes > 0 ? 'up' : 'down'} me-1`) : null, fmt.change(bytes));
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
  updateBatchLabel();
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
      updateBatchLabel();
    });
    tr.append(h('td', {}, cb));
  }
  const never = !r.last_sync_at;
  tr.append(
    h('td', { class: 'wf-name' }, h('a', { href: `/instances/${r.id}`, class: 'fw-semibold' }, r.name), r.description ? h('div', { class: 'small text-muted' }, r.description) : null),
    h('td', {}, h('span', { class: `badge rounded-pill text-bg-info wf-type-${r.db_type}` }, engineLabel(r.db_type))),
    h('td', { class: 'wf-mono wf-hide-sm' }, `${r.host}:${r.port}`),
    h('td', {}, h('span', { class: `badge ${r.is_active ? 'text-bg-success' : 'text-bg-secondary'}` }, t(r.is_active ? 'instances.status_active' : 'instances.status_inactive'))),
    h('td', { class: 'wf-hide-sm' }, ...r.tags.map((tag) => h('span', { class: 'badge text-bg-light border wf-tag' }, tag))),
    h('td', { class: 'wf-num', 'data-col': 'databases' }, fmt.number(r.database_count)),
    h('td', { class: 'wf-num instance-size', 'data-col': 'total', title: fmt.mb(r.total_size_bytes) }, fmt.bytes(r.total_size_bytes)),
    changeCell(r.change_7d_bytes),
    h(
      'td',
      { class: 'wf-nowrap', 'data-col': 'last-sync' },
      syncBadge(r.last_sync_status, r.last_sync_error),
      ' ',
      h('span', { class: 'small text-muted' }, never ? (r.is_active && can('operator') ? t('instances.sync_now_hint') : '') : fmt.dateTime(r.last_sync_at)),
    ),
    h('td', { class: 'text-end wf-nowrap' }, ...actions(r)),
  );
  return tr;
}

function actions(r: Row): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (can('operator')) {
    const btn = h('button', { type: 'button', class: 'btn btn-outline-info btn-sm wf-sync-capacity', title: t('instances.sync_capacity') }, icon('fas fa-database me-1'), t('instances.sync_capacity'));
    btn.addEventListener('click', () => void syncCapacity(btn, r));
    out.push(btn);
  }
  if (can('admin')) {
    const menu = h(
      'div',
      { class: 'btn-group btn-group-sm ms-1' },
      h('button', { type: 'button', class: 'btn btn-outline-secondary wf-edit', title: t('common.edit'), 'aria-label': t('common.edit'), onclick: () => void openForm(r) }, icon('fas fa-pen')),
      h('button', { type: 'button', class: 'btn btn-outline-secondary wf-toggle', title: t(r.is_active ? 'instances.disable' : 'instances.enable'), 'aria-label': t(r.is_active ? 'instances.disable' : 'instances.enable'), onclick: () => void toggleActive(r) }, icon(r.is_active ? 'fas fa-pause' : 'fas fa-play')),
      h('button', { type: 'button', class: 'btn btn-outline-danger wf-delete', title: t('common.delete'), 'aria-label': t('common.delete'), onclick: () => void remove(r) }, icon('fas fa-trash')),
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
    await api('PATCH', `/api/instances/${r.id}`, { is_active: !r.is_active });
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

// ---- batch sync with live progress ----
function updateBatchLabel(): void {
  const label = document.getElementById('wf-batch-label');
  if (label) label.textContent = selected.size ? t('instances.batch_sync_selected', { n: selected.size }) : t('instances.batch_sync_all');
}

interface Session {
  session_id: string;
  status: string;
  total_instances: number;
  successful_instances: number;
  failed_instances: number;
}

async function batchSync(btn: HTMLButtonElement): Promise<void> {
  const ids = [...selected];
  let sessionId: string;
  try {
    const res = await withSpinner(btn, () => api<{ session_id: string; total_instances: number }>('POST', '/api/sync/capacity', ids.length ? { instance_ids: ids } : {}));
    sessionId = res.data.session_id;
    showAlert('info', res.message ?? t('instances.batch_sync'));
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  btn.disabled = true;
  const box = document.getElementById('wf-batch')!;
  const bar = document.getElementById('wf-batch-bar')!;
  const text = document.getElementById('wf-batch-text')!;
  (document.getElementById('wf-batch-link') as HTMLAnchorElement).href = `/sync-sessions/${sessionId}`;
  box.classList.remove('wf-hidden');
  delete box.dataset.wfFinished;
  // 取消 while it runs (the batch button is for operators, so is cancel).
  const cancelBtn = document.getElementById('wf-batch-cancel') as HTMLButtonElement;
  cancelBtn.classList.remove('wf-hidden');
  cancelBtn.disabled = false;
  cancelBtn.onclick = async () => {
    if (await cancelSession(sessionId, cancelBtn)) cancelBtn.disabled = true;
  };
  bar.classList.add('progress-bar-animated', 'progress-bar-striped');
  bar.classList.remove('bg-success', 'bg-warning', 'bg-danger', 'bg-secondary');
  for (;;) {
    let s: Session;
    try {
      s = (await api<Session>('GET', `/api/sync-sessions/${sessionId}`)).data;
    } catch (err) {
      showAlert('danger', errorText(err));
      break;
    }
    const done = s.successful_instances + s.failed_instances;
    const pct = s.total_instances ? Math.round((done * 100) / s.total_instances) : 100;
    bar.style.width = `${pct}%`;
    bar.setAttribute('aria-valuenow', String(pct));
    bar.textContent = `${pct}%`;
    text.textContent = t('instances.batch_progress', { done, total: s.total_instances, ok: s.successful_instances, failed: s.failed_instances });
    if (s.status !== 'running') {
      bar.classList.remove('progress-bar-animated', 'progress-bar-striped');
      bar.classList.add(s.status === 'completed' ? 'bg-success' : s.status === 'partial' ? 'bg-warning' : s.status === 'cancelled' ? 'bg-secondary' : 'bg-danger');
      text.textContent =
        s.status === 'cancelled'
          ? t('instances.batch_cancelled', { ok: s.successful_instances, failed: s.failed_instances, skipped: s.total_instances - done })
          : t('instances.batch_finished', { status: t(`sync_status.${s.status}`), ok: s.successful_instances, failed: s.failed_instances });
      box.dataset.wfFinished = s.status;
      showAlert(s.status === 'completed' ? 'success' : 'warning', text.textContent);
      break;
    }
    await load();
    await new Promise((r) => setTimeout(r, 1000));
  }
  cancelBtn.classList.add('wf-hidden');
  cancelBtn.onclick = null;
  btn.disabled = false;
  selected.clear();
  updateBatchLabel();
  await load();
}

// ---- add / edit form ----
const form = document.getElementById('wf-instance-form') as HTMLFormElement | null;
let editing: Row | undefined;
interface Credential {
  id: number;
  name: string;
  username: string;
  db_type: string | null;
}

function field<T extends HTMLElement = HTMLInputElement>(name: string): T {
  return form!.elements.namedItem(name) as unknown as T;
}

async function loadCredentials(selectedId: number | null): Promise<void> {
  const sel = field<HTMLSelectElement>('credential_id');
  let creds: Credential[] = [];
  try {
    creds = (await api<Credential[]>('GET', '/api/credentials')).data;
  } catch (err) {
    showAlert('danger', errorText(err));
  }
  sel.replaceChildren(
    h('option', { value: '' }, t('form.credential_none')),
    ...creds.map((c) => h('option', { value: c.id }, `${c.name} (${c.username})`)),
    h('option', { value: 'new' }, t('form.credential_new')),
  );
  sel.value = selectedId === null ? '' : String(selectedId);
  toggleNewCredential();
}

function toggleNewCredential(): void {
  document.getElementById('wf-new-credential')!.classList.toggle('wf-hidden', field<HTMLSelectElement>('credential_id').value !== 'new');
}

function onTypeChange(): void {
  const opt = field<HTMLSelectElement>('db_type').selectedOptions[0];
  field('port').placeholder = opt?.dataset.port ?? '';
  field('database_name').required = !!opt?.dataset.needsDb;
  // TLS fields for the engines with a TLS option (PostgreSQL sslmode, MySQL/MariaDB ssl), in their own words.
  const key = opt?.dataset.tlsKey ?? '';
  document.getElementById('wf-tls')!.classList.toggle('wf-hidden', !key);
  const select = field<HTMLSelectElement>('tls_mode');
  const current = editing && editing.db_type === opt?.value ? editing.options[key] : undefined;
  select.replaceChildren(...(opt?.dataset.tlsModes ?? '').split(',').filter(Boolean).map((m) => h('option', { value: m }, m)));
  if (typeof current === 'string') select.value = current;
  field('allow_cleartext_password').checked = editing?.options.allow_cleartext_password === true;
  const info = (c: CertInfo | null) => (c ? t('form.tls_set', { subject: c.subject, expires: c.expires_at.slice(0, 10) }) : '');
  document.getElementById('wf-tls-ca-info')!.textContent = info(editing?.tls?.ca ?? null);
  document.getElementById('wf-tls-cert-info')!.textContent = info(editing?.tls?.cert ?? null);
}

interface CertInfo {
  subject: string;
  expires_at: string;
}

function formAlert(type: 'danger' | 'success' | 'info', message: string): void {
  document.getElementById('wf-form-alerts')!.replaceChildren(h('div', { class: `alert alert-${type} py-2`, role: type === 'danger' ? 'alert' : 'status' }, message));
}

async function openForm(r?: Row): Promise<void> {
  if (!form) return;
  editing = r;
  form.reset();
  document.getElementById('wf-form-alerts')!.replaceChildren();
  document.getElementById('wf-test-result')!.replaceChildren();
  document.getElementById('wf-instance-modal-title')!.textContent = r ? t('form.edit_title', { name: r.name }) : t('form.add_title');
  document.getElementById('wf-test-hint')!.classList.toggle('wf-hidden', !!r);
  if (r) {
    field('name').value = r.name;
    field<HTMLSelectElement>('db_type').value = r.db_type;
    field('host').value = r.host;
    field('port').value = String(r.port);
    field('database_name').value = r.database_name ?? '';
    field('tags').value = r.tags.join(', ');
    field<HTMLTextAreaElement>('description').value = r.description ?? '';
    field('is_active').checked = r.is_active;
    const limit = r.options.capacity_limit_bytes;
    field('capacity_limit_gb').value = typeof limit === 'number' ? String(limit / 1024 ** 3) : '';
  }
  onTypeChange();
  modal(document.getElementById('wf-instance-modal')!).show();
  await loadCredentials(r?.credential_id ?? null);
}

/** Create the credential if "new" is chosen, then create or update the instance. Returns the saved instance. */
async function save(): Promise<Row> {
  let credentialId: number | null = null;
  const credValue = field<HTMLSelectElement>('credential_id').value;
  if (credValue === 'new') {
    const c = await api<Credential>('POST', '/api/credentials', {
      name: field('c_name').value.trim(),
      username: field('c_username').value.trim(),
      password: field('c_password').value,
      db_type: field<HTMLSelectElement>('db_type').value,
    });
    credentialId = c.data.id;
    field('c_password').value = ''; // write-only: gone from the page once saved
    await loadCredentials(credentialId);
    formAlert('success', t('form.credential_created', { name: c.data.name }));
  } else if (credValue) credentialId = Number(credValue);
  const port = field('port').value.trim();
  const limitGb = field('capacity_limit_gb').value.trim();
  const options: Record<string, unknown> = { ...(editing?.options ?? {}) };
  if (limitGb) options.capacity_limit_bytes = Math.round(Number(limitGb) * 1024 ** 3);
  else delete options.capacity_limit_bytes;
  const tlsKey = field<HTMLSelectElement>('db_type').selectedOptions[0]?.dataset.tlsKey ?? '';
  const tlsPem: Record<string, string> = {};
  if (tlsKey) {
    options[tlsKey] = field<HTMLSelectElement>('tls_mode').value;
    if (field('allow_cleartext_password').checked) options.allow_cleartext_password = true;
    else delete options.allow_cleartext_password;
    // Write-only: sent when typed, never shown again (the form shows the subject and expiry instead).
    for (const name of ['tls_ca', 'tls_cert', 'tls_key']) {
      const v = field<HTMLTextAreaElement>(name).value.trim();
      if (v) tlsPem[name] = v;
    }
  }
  const body = {
    name: field('name').value.trim(),
    db_type: field<HTMLSelectElement>('db_type').value,
    host: field('host').value.trim(),
    ...(port ? { port: Number(port) } : {}),
    database_name: field('database_name').value.trim() || null,
    credential_id: credentialId,
    is_active: field('is_active').checked,
    description: field<HTMLTextAreaElement>('description').value.trim() || null,
    tags: field('tags')
      .value.split(/[,，]/)
      .map((s) => s.trim())
      .filter(Boolean),
    options,
    ...tlsPem,
  };
  // Moving an instance with its stored password to another address needs a yes (a new credential is a re-entered password).
  const moved = editing && (body.host !== editing.host || (body.port !== undefined && body.port !== editing.port));
  if (moved && credentialId !== null && credValue !== 'new' && credentialId === editing!.credential_id) {
    if (!window.confirm(t('form.confirm_move', { address: `${body.host}:${body.port ?? editing!.port}` }))) throw new Error(t('form.move_cancelled'));
    Object.assign(body, { confirm_move: true });
  }
  const res = editing ? await api<Row>('PATCH', `/api/instances/${editing.id}`, body) : await api<Row>('POST', '/api/instances', body);
  editing = { ...res.data, change_7d_bytes: null };
  document.getElementById('wf-instance-modal-title')!.textContent = t('form.edit_title', { name: res.data.name });
  document.getElementById('wf-test-hint')!.classList.add('wf-hidden');
  document.getElementById('wf-empty')?.remove();
  document.getElementById('wf-list')!.classList.remove('wf-hidden');
  return editing;
}

interface Doctor {
  ok: boolean;
  server_version: string;
  checks: { name: string; ok: boolean; detail: string; undercounts?: string; fix?: string[] }[];
}

async function testConnection(btn: HTMLButtonElement): Promise<void> {
  const out = document.getElementById('wf-test-result')!;
  out.replaceChildren();
  await withSpinner(btn, async () => {
    let inst: Row;
    try {
      inst = await save();
    } catch (err) {
      formAlert('danger', errorText(err));
      return;
    }
    try {
      const r = await api<{ server_version: string; latency_ms: number }>('POST', `/api/instances/${inst.id}/test-connection`);
      out.append(h('div', { class: 'alert alert-success py-2', 'data-wf-test': 'ok' }, icon('fas fa-circle-check me-1'), `${r.message ?? ''} · ${r.data.latency_ms} ms`));
    } catch (err) {
      out.append(h('div', { class: 'alert alert-danger py-2', 'data-wf-test': 'failed' }, errorText(err)));
      return;
    }
    try {
      const d = await api<Doctor>('POST', `/api/instances/${inst.id}/doctor`);
      out.append(doctorView(d.data, d.message));
    } catch (err) {
      out.append(h('div', { class: 'alert alert-warning py-2' }, errorText(err)));
    }
  });
  await load();
}

function doctorView(d: Doctor, message?: string): HTMLElement {
  return h(
    'div',
    { class: 'card wf-doctor', 'data-wf-doctor': d.ok ? 'ok' : 'missing' },
    h('div', { class: 'card-header py-1 small' }, icon(`fas ${d.ok ? 'fa-shield-halved text-success' : 'fa-triangle-exclamation text-warning'} me-1`), `${t('form.doctor_title')}: ${message ?? (d.ok ? t('form.doctor_ok') : t('form.doctor_missing'))}`),
    h(
      'ul',
      { class: 'list-group list-group-flush small' },
      ...d.checks.map((c) =>
        h(
          'li',
          { class: 'list-group-item' },
          icon(`fas ${c.ok ? 'fa-check text-success' : 'fa-xmark text-danger'} me-1`),
          c.name,
          c.detail ? h('span', { class: 'text-muted' }, ` — ${c.detail}`) : null,
          !c.ok && c.undercounts ? h('div', { class: 'text-muted' }, `${t('form.doctor_impact')}: ${c.undercounts}`) : null,
          !c.ok && c.fix?.length ? h('pre', { class: 'wf-mono' }, c.fix.join('\n')) : null,
        ),
      ),
    ),
  );
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
    const col = th.dataset.sort!;
    state.dir = state.sort === col && state.dir === 'asc' ? 'desc' : col === 'name' || col === 'db_type' || col === 'host' ? 'asc' : state.sort === col ? 'asc' : 'desc';
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
  updateBatchLabel();
});
const batchBtn = document.getElementById('wf-batch-sync') as HTMLButtonElement | null;
batchBtn?.addEventListener('click', () => void batchSync(batchBtn));
document.getElementById('wf-add-instance')?.addEventListener('click', () => void openForm());
document.getElementById('wf-add-first')?.addEventListener('click', () => void openForm());
if (form) {
  field<HTMLSelectElement>('db_type').addEventListener('change', onTypeChange);
  field<HTMLSelectElement>('credential_id').addEventListener('change', toggleNewCredential);
  const testBtn = document.getElementById('wf-test-connection') as HTMLButtonElement;
  testBtn.addEventListener('click', () => void testConnection(testBtn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = document.getElementById('wf-save') as HTMLButtonElement;
    try {
      const saved = await withSpinner(btn, save);
      modal(document.getElementById('wf-instance-modal')!).hide();
      showAlert('success', t('form.saved', { name: saved.name }));
    } catch (err) {
      formAlert('danger', errorText(err));
    }
    await load();
  });
}

void load();
