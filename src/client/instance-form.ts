/**
 * The add/edit instance form of the instances page (modal #wf-instance-modal):
 * a new credential created inline, 测试连接 + doctor, 保存.
 */
import { api, ApiError, errorText, h, icon, modal, onAsync, serverText, showAlert, t, withSpinner } from './ui.js';
import type {
  CertInfo,
  ConnectionTest,
  CreateCredentialBody,
  CreateInstanceBody,
  Credential,
  Instance,
  TestConnectionsBody,
  UpdateInstanceBody,
} from './shared/api-types.js';

const form = document.getElementById('wf-instance-form') as HTMLFormElement | null;
let editing: Instance | undefined;
/** Called after anything was saved (the page reloads its table). */
let changed: () => Promise<void> = async () => {};

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
  select.replaceChildren(
    ...(opt?.dataset.tlsModes ?? '')
      .split(',')
      .filter(Boolean)
      .map((m) => h('option', { value: m }, m)),
  );
  if (typeof current === 'string') select.value = current;
  field('allow_cleartext_password').checked = editing?.options.allow_cleartext_password === true;
  const info = (c: CertInfo | null) => (c ? t('form.tls_set', { subject: c.subject, expires: c.expires_at.slice(0, 10) }) : '');
  document.getElementById('wf-tls-ca-info')!.textContent = info(editing?.tls?.ca ?? null);
  document.getElementById('wf-tls-cert-info')!.textContent = info(editing?.tls?.cert ?? null);
  // The size method (MySQL/MariaDB): each choice with its one-line meaning; an edited instance shows the one it uses.
  const methods = (opt?.dataset.methods ?? '').split(',').filter(Boolean);
  document.getElementById('wf-method')!.classList.toggle('wf-hidden', !methods.length);
  const method = field<HTMLSelectElement>('method');
  method.replaceChildren(...methods.map((m) => h('option', { value: m }, `${m} — ${t(`form.method_${m}`)}`)));
  const used = editing && editing.db_type === opt?.value ? editing.options.method : undefined;
  method.value = typeof used === 'string' ? used : (opt?.dataset.methodDefault ?? '');
  methodHint();
}

function methodHint(): void {
  const m = field<HTMLSelectElement>('method').value;
  document.getElementById('wf-method-hint')!.textContent = m ? t(`form.method_${m}_hint`) : '';
}

function formAlert(type: 'danger' | 'success' | 'info', message: string): void {
  document
    .getElementById('wf-form-alerts')!
    .replaceChildren(h('div', { class: `alert alert-${type} py-2`, role: type === 'danger' ? 'alert' : 'status' }, message));
}

/** Open the form empty (add) or filled with an instance (edit). */
export async function openForm(r?: Instance): Promise<void> {
  if (!form) return;
  editing = r;
  form.reset();
  document.getElementById('wf-form-alerts')!.replaceChildren();
  document.getElementById('wf-test-result')!.replaceChildren();
  document.getElementById('wf-instance-modal-title')!.textContent = r ? t('form.edit_title', { name: r.name }) : t('form.add_title');
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

/** The instance's settings as the form holds them (credential aside). */
function settings(): CreateInstanceBody {
  const port = field('port').value.trim();
  const limitGb = field('capacity_limit_gb').value.trim();
  const options: Record<string, unknown> = { ...(editing?.options ?? {}) };
  if (limitGb) options.capacity_limit_bytes = Math.round(Number(limitGb) * 1024 ** 3);
  else delete options.capacity_limit_bytes;
  const typeOpt = field<HTMLSelectElement>('db_type').selectedOptions[0];
  if (typeOpt?.dataset.methods) options.method = field<HTMLSelectElement>('method').value;
  else delete options.method;
  const tlsKey = typeOpt?.dataset.tlsKey ?? '';
  const tlsPem: Pick<CreateInstanceBody, 'tls_ca' | 'tls_cert' | 'tls_key'> = {};
  if (tlsKey) {
    options[tlsKey] = field<HTMLSelectElement>('tls_mode').value;
    if (field('allow_cleartext_password').checked) options.allow_cleartext_password = true;
    else delete options.allow_cleartext_password;
    // Write-only: sent when typed, never shown again (the form shows the subject and expiry instead).
    for (const name of ['tls_ca', 'tls_cert', 'tls_key'] as const) {
      const v = field<HTMLTextAreaElement>(name).value.trim();
      if (v) tlsPem[name] = v;
    }
  }
  return {
    name: field('name').value.trim(),
    // One of the engines GET /api/engines listed (the select's options).
    db_type: field<HTMLSelectElement>('db_type').value as CreateInstanceBody['db_type'],
    host: field('host').value.trim(),
    ...(port ? { port: Number(port) } : {}),
    database_name: field('database_name').value.trim() || null,
    is_active: field('is_active').checked,
    description: field<HTMLTextAreaElement>('description').value.trim() || null,
    tags: field('tags')
      .value.split(/[,，]/)
      .map((s) => s.trim())
      .filter(Boolean),
    options,
    ...tlsPem,
  };
}

/** Create the credential if "new" is chosen, then create or update the instance. Returns the saved instance. */
async function save(): Promise<Instance> {
  let credentialId: number | null = null;
  const credValue = field<HTMLSelectElement>('credential_id').value;
  if (credValue === 'new') {
    const c = await api<Credential>('POST', '/api/credentials', {
      name: field('c_name').value.trim(),
      username: field('c_username').value.trim(),
      password: field('c_password').value,
      db_type: field<HTMLSelectElement>('db_type').value as CreateCredentialBody['db_type'],
    } satisfies CreateCredentialBody);
    credentialId = c.data.id;
    field('c_password').value = ''; // write-only: gone from the page once saved
    await loadCredentials(credentialId);
    formAlert('success', t('form.credential_created', { name: c.data.name }));
  } else if (credValue) credentialId = Number(credValue);
  const body: CreateInstanceBody = { ...settings(), credential_id: credentialId };
  // Moving an instance with its stored password to another address needs a yes (a new credential is a re-entered password).
  const moved = editing && (body.host !== editing.host || (body.port !== undefined && body.port !== editing.port));
  if (moved && credentialId !== null && credValue !== 'new' && credentialId === editing!.credential_id) {
    if (!window.confirm(t('form.confirm_move', { address: `${body.host}:${body.port ?? editing!.port}` }))) throw new Error(t('form.move_cancelled'));
    body.confirm_move = true;
  }
  const send = () =>
    editing ? api<Instance>('PATCH', `/api/instances/${editing.id}`, body satisfies UpdateInstanceBody) : api<Instance>('POST', '/api/instances', body);
  let res;
  try {
    res = await send();
  } catch (err) {
    // The server is registered already (409 duplicate_server): say under which names, save only on a yes.
    if (!(err instanceof ApiError && err.code === 'duplicate_server')) throw err;
    const names = duplicateNames(err);
    if (!window.confirm(t('form.confirm_duplicate', { address: `${body.host}:${body.port ?? ''}`.replace(/:$/, ''), names })))
      throw new Error(t('form.duplicate_cancelled'));
    body.confirm_duplicate = true;
    res = await send();
  }
  editing = res.data;
  document.getElementById('wf-instance-modal-title')!.textContent = t('form.edit_title', { name: res.data.name });
  document.getElementById('wf-empty')?.remove();
  document.getElementById('wf-list')!.classList.remove('wf-hidden');
  return editing;
}

/** The names of the instances a 409 duplicate_server answer lists (`duplicates` beside the error). */
function duplicateNames(err: ApiError): string {
  const list = (err.extra as { duplicates?: { name: string }[] } | undefined)?.duplicates ?? [];
  return list.map((d) => d.name).join(', ');
}

/**
 * 测试连接 with the form's settings as they are, saving nothing (issue #20):
 * a new credential's user name and password travel with the test only; the
 * server connects, reads the version and checks the grants.
 */
async function testConnection(btn: HTMLButtonElement): Promise<void> {
  const out = document.getElementById('wf-test-result')!;
  out.replaceChildren();
  document.getElementById('wf-form-alerts')!.replaceChildren();
  const credValue = field<HTMLSelectElement>('credential_id').value;
  const body: TestConnectionsBody = {
    ...settings(),
    ...(editing ? { instance_id: editing.id } : {}),
    ...(credValue === 'new'
      ? { username: field('c_username').value.trim(), password: field('c_password').value }
      : { credential_id: credValue ? Number(credValue) : null }),
  };
  await withSpinner(btn, async () => {
    try {
      const r = await api<ConnectionTest>('POST', '/api/instances/test-connection', body);
      out.append(
        h('div', { class: 'alert alert-success py-2', 'data-wf-test': 'ok' }, icon('fas fa-circle-check me-1'), `${r.message ?? ''} · ${r.data.latency_ms} ms`),
      );
      out.append(doctorView(r.data.doctor));
    } catch (err) {
      out.append(h('div', { class: 'alert alert-danger py-2', 'data-wf-test': 'failed' }, errorText(err)));
    }
  });
}

function doctorView(d: ConnectionTest['doctor']): HTMLElement {
  return h(
    'div',
    { class: 'card wf-doctor', 'data-wf-doctor': d.ok ? 'ok' : 'missing' },
    h(
      'div',
      { class: 'card-header py-1 small' },
      icon(`fas ${d.ok ? 'fa-shield-halved text-success' : 'fa-triangle-exclamation text-warning'} me-1`),
      `${t('form.doctor_title')}: ${d.ok ? t('form.doctor_ok') : t('form.doctor_missing')}`,
    ),
    h(
      'ul',
      { class: 'list-group list-group-flush small' },
      ...d.checks.map((c) =>
        h(
          'li',
          { class: 'list-group-item' },
          icon(`fas ${c.ok ? 'fa-check text-success' : 'fa-xmark text-danger'} me-1`),
          c.name,
          c.detail ? h('span', { class: 'text-muted' }, ` — ${serverText(c.detail, c.detail_key, c.params)}`) : null,
          !c.ok && c.undercounts
            ? h('div', { class: 'text-muted' }, `${t('form.doctor_impact')}: ${serverText(c.undercounts, c.undercounts_key, c.params)}`)
            : null,
          !c.ok && c.fix?.length ? h('pre', { class: 'wf-mono' }, c.fix.join('\n')) : null,
        ),
      ),
    ),
  );
}

/** Wire the form once; `onChanged` runs after every save. */
export function initForm(onChanged: () => Promise<void>): void {
  changed = onChanged;
  if (!form) return;
  field<HTMLSelectElement>('db_type').addEventListener('change', onTypeChange);
  field<HTMLSelectElement>('method').addEventListener('change', methodHint);
  field<HTMLSelectElement>('credential_id').addEventListener('change', toggleNewCredential);
  const testBtn = document.getElementById('wf-test-connection') as HTMLButtonElement;
  testBtn.addEventListener('click', () => void testConnection(testBtn));
  form.addEventListener(
    'submit',
    onAsync(async (ev) => {
      ev.preventDefault();
      const btn = document.getElementById('wf-save') as HTMLButtonElement;
      try {
        const saved = await withSpinner(btn, save);
        modal(document.getElementById('wf-instance-modal')!).hide();
        showAlert('success', t('form.saved', { name: saved.name }));
      } catch (err) {
        formAlert('danger', errorText(err));
      }
      await changed();
    }),
  );
}
