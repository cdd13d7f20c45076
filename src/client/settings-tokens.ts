/**
 * Settings tab: API tokens (the secret shown once).
 */
import { api, errorText, fmt, h, icon, onAsync, showAlert, t, withSpinner } from './ui.js';
import { byId, emptyRow, input } from './settings-common.js';
import type { CreateTokenBody, Token, TokenCreated } from './shared/api-types.js';

// ---- API tokens ----

export async function loadTokens(): Promise<void> {
  let tokens: Token[];
  try {
    tokens = (await api<Token[]>('GET', '/api/tokens')).data;
  } catch (err) {
    showAlert('danger', errorText(err));
    return;
  }
  byId('wf-tokens').replaceChildren(
    ...(tokens.length
      ? tokens.map((tk) => {
          const revoke = h('button', { type: 'button', class: 'btn btn-outline-danger btn-sm' }, icon('fas fa-ban me-1'), t('settings.revoke'));
          revoke.addEventListener('click', () => {
            if (!window.confirm(t('settings.confirm_revoke', { name: tk.name }))) return;
            void withSpinner(revoke, async () => {
              try {
                const r = await api('DELETE', `/api/tokens/${tk.id}`);
                showAlert('success', r.message ?? t('settings.revoked'));
                await loadTokens();
              } catch (err) {
                showAlert('danger', errorText(err));
              }
            });
          });
          return h(
            'tr',
            { 'data-wf-token': tk.name },
            h('td', { class: 'wf-name' }, tk.name),
            h('td', { class: 'wf-hide-sm wf-mono' }, `${tk.token_prefix}…`),
            h('td', {}, tk.username),
            h('td', { class: 'wf-hide-sm wf-nowrap' }, fmt.dateTime(tk.created_at)),
            h('td', { class: 'wf-hide-sm wf-nowrap' }, fmt.dateTime(tk.last_used_at)),
            h(
              'td',
              { class: 'wf-nowrap' },
              tk.revoked_at
                ? h('span', { class: 'badge text-bg-secondary' }, t('settings.revoked'))
                : tk.expires_at
                  ? fmt.dateTime(tk.expires_at)
                  : t('settings.never'),
            ),
            h('td', { class: 'text-end' }, tk.revoked_at ? '' : revoke),
          );
        })
      : [emptyRow(7, t('settings.no_tokens'))]),
  );
}

byId<HTMLFormElement>('wf-token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = ev.target as HTMLFormElement;
  const days = input('wf-t-days').value.trim();
  const body: CreateTokenBody = { name: input('wf-t-name').value.trim() };
  if (days) body.expires_in_days = Number(days);
  void withSpinner(byId<HTMLButtonElement>('wf-token-add'), async () => {
    try {
      const r = await api<TokenCreated>('POST', '/api/tokens', body);
      // The secret exists only in this answer: show it once, never store it.
      input('wf-token-value').value = r.data.token;
      byId('wf-token-once').classList.remove('wf-hidden');
      f.reset();
      await loadTokens();
    } catch (err) {
      showAlert('danger', errorText(err));
    }
  });
});
byId('wf-token-copy').addEventListener(
  'click',
  onAsync(async () => {
    try {
      await navigator.clipboard.writeText(input('wf-token-value').value);
      showAlert('success', t('settings.copied'));
    } catch {
      input('wf-token-value').select();
    }
  }),
);
// Leaving the tab forgets the shown secret.
byId('wf-tab-tokens').addEventListener('hidden.bs.tab', () => {
  input('wf-token-value').value = '';
  byId('wf-token-once').classList.add('wf-hidden');
});
