/**
 * Settings tab: users (role, active, password reset).
 */
import { api, errorText, fmt, h, icon, showAlert, t, withSpinner } from './ui.js';
import { byId, input } from './settings-common.js';
import type { CreateUserBody, UpdateUserBody, User } from './shared/api-types.js';

const roles = JSON.parse(document.getElementById('wf-settings')?.dataset.roles ?? '[]') as string[];

// ---- users ----

export async function loadUsers(): Promise<void> {
  let users: User[];
  try {
    users = (await api<User[]>('GET', '/api/users')).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  byId('wf-users').replaceChildren(...users.map(userRow));
}

function userRow(u: User): HTMLElement {
  const roleSel = h(
    'select',
    { class: 'form-select form-select-sm w-auto', 'aria-label': t('settings.role_of', { name: u.username }) },
    ...roles.map((r) => h('option', { value: r, selected: r === u.role }, t(`role.${r}`))),
  );
  roleSel.addEventListener('change', () => void patchUser(u, { role: roleSel.value as User['role'] }));
  const active = h('input', {
    class: 'form-check-input',
    type: 'checkbox',
    role: 'switch',
    checked: u.is_active,
    'aria-label': t('settings.active_of', { name: u.username }),
  });
  active.addEventListener('change', () => void patchUser(u, { is_active: active.checked }));
  const pw = h('button', { type: 'button', class: 'btn btn-outline-secondary btn-sm' }, icon('fas fa-key me-1'), t('settings.reset_password'));
  pw.addEventListener('click', () => {
    const p = window.prompt(t('settings.new_password_for', { name: u.username }));
    if (p) void patchUser(u, { password: p });
  });
  return h(
    'tr',
    { 'data-wf-user': u.username },
    h('td', { class: 'wf-name' }, u.username),
    h('td', {}, roleSel),
    h('td', {}, h('div', { class: 'form-check form-switch mb-0' }, active)),
    h('td', { class: 'wf-hide-sm wf-nowrap' }, fmt.dateTime(u.created_at)),
    h('td', { class: 'text-end' }, pw),
  );
}

async function patchUser(u: User, body: UpdateUserBody): Promise<void> {
  try {
    await api('PATCH', `/api/users/${u.id}`, body);
    showAlert('success', t('settings.user_saved', { name: u.username }));
  } catch (err) {
    showAlert('danger', errorText(err));
  }
  await loadUsers();
}

byId<HTMLFormElement>('wf-user-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = ev.target as HTMLFormElement;
  const body: CreateUserBody = {
    username: input('wf-u-username').value.trim(),
    password: input('wf-u-password').value,
    role: byId<HTMLSelectElement>('wf-u-role').value as User['role'],
  };
  void withSpinner(byId<HTMLButtonElement>('wf-user-add'), async () => {
    try {
      await api('POST', '/api/users', body);
      showAlert('success', t('settings.user_created', { name: body.username }));
      f.reset();
      await loadUsers();
    } catch (err) {
      showAlert('danger', errorText(err));
    }
  });
});
