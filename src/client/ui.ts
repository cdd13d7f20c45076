/**
 * What every page module shares: the page's context (locale, time zone, role,
 * CSRF token, from <body data-*>), `t()` over the one dictionary, `api()` for
 * the JSON API (X-CSRFToken on writes; the server's message on every error),
 * alerts, a tiny safe element builder (text only, never innerHTML), and the
 * navbar's logout and language switch.
 */
import { formatters } from './shared/format.js';
import type { MyPreferencesBody } from './shared/api-types.js';
import { pickLocale, t as translate, type Locale, type Params } from './shared/i18n/index.js';

const body = document.body.dataset;
export const locale: Locale = pickLocale(body.locale);
export const timeZone = body.tz || 'UTC';
export const role = body.role ?? '';
const csrf = body.csrf ?? '';
const RANK: Record<string, number> = { viewer: 1, operator: 2, admin: 3 };

export function t(key: string, params?: Params): string {
  return translate(locale, key, params);
}

/**
 * A server message in the page's language: by its key when the server sent
 * one (`message_key` + `params`, a record's `error_message_key` + `error_params`,
 * a doctor line's `detail_key`), else the server's text as is (older rows).
 */
export function serverText(text: string | null | undefined, key?: string | null, params?: Record<string, unknown> | null): string {
  // The API documents params as JSON values (api-types.ts); they are the message's parameters (text, numbers, nested messages).
  return key ? translate(locale, key, (params ?? undefined) as Params | undefined) : (text ?? '');
}

export function can(needed: 'viewer' | 'operator' | 'admin'): boolean {
  return (RANK[role] ?? 0) >= RANK[needed]!;
}

export const fmt = formatters(locale, timeZone);

/** An error the API answered (or a network failure), with a message fit to show as is. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    /** The `data` of a refused request, when the server sent one (an import's report). */
    readonly data?: unknown,
    /** The whole answer, for fields the server adds beside `error` (a 409 duplicate_server's `duplicates`). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface ApiOk<T> {
  data: T;
  message?: string;
}

/**
 * Call the JSON API. Resolves with `{data, message}`; rejects with ApiError carrying the server's `error` text.
 * With `contentType`, `payload` is sent as is (a text file such as an import's CSV/YAML) instead of as JSON.
 */
export async function api<T>(method: string, url: string, payload?: unknown, contentType?: string): Promise<ApiOk<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = contentType ?? 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrftoken'] = csrf;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: payload === undefined ? undefined : contentType && typeof payload === 'string' ? payload : JSON.stringify(payload),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(t('common.network_error', { message: err instanceof Error ? err.message : String(err) }), 0);
  }
  let json: { success?: boolean; data?: T; message?: string; message_key?: string; params?: Params; error?: unknown; error_code?: string } | undefined;
  try {
    json = (await res.json()) as typeof json;
  } catch {
    json = undefined;
  }
  if (res.status === 401 && !url.startsWith('/api/auth/login')) {
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
  }
  if (!res.ok || !json || json.success === false) {
    const msg = json?.message_key
      ? t(json.message_key, json.params)
      : typeof json?.error === 'string' && json.error
        ? json.error
        : t('common.http_error', { status: res.status });
    throw new ApiError(msg, res.status, json?.error_code, json?.data, json);
  }
  return { data: json.data as T, message: json.message === undefined ? undefined : serverText(json.message, json.message_key, json.params) };
}

/**
 * The query string of a typed query (api-types.ts, e.g. TableListQuery): each value as its text, undefined left out.
 * Build the object with `satisfies` so a renamed or retyped parameter fails `npm run typecheck`.
 */
export function searchParams(q: Record<string, string | number | boolean | undefined>): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  return p;
}

/**
 * A filter form's fields by name, each trimmed, the empty ones left out: read them into a typed query
 * one by one (`{ db_type: f.db_type, … } satisfies CapacityQuery`), so a field the route renames fails the type check.
 */
export function formFields(form: HTMLFormElement): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {};
  for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v.trim()) out[k] = v.trim();
  return out;
}

/** A form field's number (formFields), undefined when the field is empty. */
export const fieldNumber = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

/**
 * Only the newest call's answer counts. A page that loads on every filter change can have two requests in flight;
 * the first one's answer arriving last must not replace the rows of the filters shown.
 * `const isNewest = newest(); … const mine = isNewest(); const r = await api(…); if (!mine()) return;`
 */
export function newest(): () => () => boolean {
  let n = 0;
  return () => {
    const mine = ++n;
    return () => mine === n;
  };
}

/**
 * An event listener that runs async work: what it throws and does not handle itself is shown as an alert,
 * never left as an unhandled rejection. `el.addEventListener('click', onAsync(async () => { … }))`.
 */
export function onAsync<E extends Event>(handler: (ev: E) => Promise<void>): (ev: E) => void {
  return (ev) => {
    handler(ev).catch((err: unknown) => showAlert('danger', errorText(err)));
  };
}

/** The message of anything thrown, never "[object Object]". */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  return t('error.title');
}

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

/** Build an element; strings become text nodes (so data is never parsed as HTML). `on<event>` attrs add listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

export function icon(cls: string): HTMLElement {
  return h('i', { class: cls, 'aria-hidden': 'true' });
}

/** The seed's showAlert(type, message): a dismissible Bootstrap alert at the top of the page. */
export function showAlert(type: 'success' | 'danger' | 'warning' | 'info', message: string, timeoutMs = type === 'success' ? 6000 : 0): HTMLElement {
  const box = document.getElementById('wf-alerts')!;
  const el = h(
    'div',
    { class: `alert alert-${type} alert-dismissible fade show`, role: type === 'danger' ? 'alert' : 'status', 'data-wf-alert': type },
    icon(`fas ${type === 'success' ? 'fa-circle-check' : type === 'danger' ? 'fa-circle-exclamation' : 'fa-circle-info'} me-2`),
    h('span', { class: 'wf-alert-text' }, message),
    h('button', { type: 'button', class: 'btn-close', 'data-bs-dismiss': 'alert', 'aria-label': t('common.close') }),
  );
  box.append(el);
  if (timeoutMs > 0) setTimeout(() => el.remove(), timeoutMs);
  return el;
}

export function clearAlerts(): void {
  document.getElementById('wf-alerts')?.replaceChildren();
}

/** Run `fn` with `btn` showing a spinner and disabled, then put it back (the seed's button behaviour). */
export async function withSpinner<T>(btn: HTMLButtonElement, fn: () => Promise<T>): Promise<T> {
  const original = [...btn.childNodes];
  btn.replaceChildren(h('i', { class: 'fas fa-spinner fa-spin', 'aria-hidden': 'true' }));
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    btn.replaceChildren(...original);
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}

function setLangCookie(l: string): void {
  document.cookie = `wf_lang=${encodeURIComponent(l)}; path=/; max-age=31536000; samesite=lax`;
}

function initNavbar(): void {
  document.getElementById('wf-logout')?.addEventListener(
    'click',
    onAsync(async () => {
      try {
        await api('POST', '/api/auth/logout');
      } catch (err) {
        showAlert('danger', errorText(err));
        return;
      }
      setLangCookie(locale); // the login page keeps the user's language
      window.location.assign('/login');
    }),
  );
  for (const el of document.querySelectorAll<HTMLElement>('[data-wf-lang]')) {
    el.addEventListener(
      'click',
      onAsync(async () => {
        const l = el.dataset.wfLang!;
        setLangCookie(l);
        if (role) {
          try {
            await api('PATCH', '/api/auth/me', { locale: l as MyPreferencesBody['locale'] } satisfies MyPreferencesBody);
          } catch (err) {
            showAlert('danger', errorText(err));
            return;
          }
        }
        window.location.reload();
      }),
    );
  }
}

initNavbar();

interface BsModal {
  show(): void;
  hide(): void;
}
declare global {
  interface Window {
    bootstrap?: { Modal: { getOrCreateInstance(el: Element): BsModal }; Tab: { getOrCreateInstance(el: Element): { show(): void } } };
  }
}

/** The Bootstrap modal of `el` (bootstrap.bundle.min.js is loaded before the page modules). */
export function modal(el: Element): BsModal {
  return window.bootstrap!.Modal.getOrCreateInstance(el);
}

/** A status badge for a sync status (completed / failed / running …), error text on hover. */
export function syncBadge(status: string | null, error?: string | null): HTMLElement {
  if (!status) return h('span', { class: 'badge text-bg-light border' }, t('instances.never_synced'));
  const color: Record<string, string> = {
    completed: 'success',
    failed: 'danger',
    running: 'primary',
    pending: 'secondary',
    skipped: 'secondary',
    partial: 'warning',
    interrupted: 'warning',
    cancelled: 'dark',
  };
  return h('span', { class: `badge text-bg-${color[status] ?? 'secondary'}`, title: error || null, 'data-wf-status': status }, t(`sync_status.${status}`));
}
