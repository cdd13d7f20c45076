/** The login form: POST /api/auth/login, then go where the user was going. */
import { api, clearAlerts, errorText, onAsync, showAlert, withSpinner } from './ui.js';
import type { LoginBody } from './shared/api-types.js';

const form = document.getElementById('wf-login-form') as HTMLFormElement;
form.addEventListener(
  'submit',
  onAsync(async (ev) => {
    ev.preventDefault();
    clearAlerts();
    const username = (form.elements.namedItem('username') as HTMLInputElement).value.trim();
    const password = (form.elements.namedItem('password') as HTMLInputElement).value;
    const btn = document.getElementById('wf-login-submit') as HTMLButtonElement;
    try {
      await withSpinner(btn, () => api('POST', '/api/auth/login', { username, password } satisfies LoginBody));
    } catch (err) {
      showAlert('danger', errorText(err));
      return;
    }
    window.location.assign(form.dataset.next || '/instances');
  }),
);
