/**
 * Where the bytes went, on the instance page: the latest day's parts as one
 * stacked bar with a legend (bytes and growth over the window per part), the
 * parts the engine could not measure with their reason (never shown as 0),
 * and the history as one small stacked bar a day. Operators can collect now.
 */
import { api, ApiError, can, fmt, h, onAsync, searchParams, serverText, showAlert, t, withSpinner } from './ui.js';
import type { Composition, CompositionPart, CompositionQuery } from './shared/api-types.js';
import type { Params } from './shared/i18n/index.js';

/** A reason by key (rendered in the page's language), or as stored (rows collected before the keys). */
interface Keyed {
  key: string;
  params?: Params;
}
/** `m` as the API sends it: the schema types a reason's params (and the ceiling's detail) loosely. */
const reasonText = (text: unknown, m: unknown): string => {
  const k = m as Keyed | null | undefined;
  return serverText(typeof text === 'string' ? text : '', k?.key, k?.params);
};

type Part = CompositionPart;
type View = Composition;

const COLORS = ['#0d6efd', '#dc3545', '#20c997', '#fd7e14', '#adb5bd', '#6f42c1', '#ffc107', '#198754', '#0dcaf0', '#d63384'];

/** A part's label: a known kind in the page's language, else the kind itself. */
function label(kind: string): string {
  const key = `composition.kind_${kind}`;
  const s = t(key);
  return s === key ? kind : s;
}

function bar(parts: { kind: string; bytes: number }[], colorOf: (k: string) => string, large: boolean): HTMLElement {
  const sum = parts.reduce((a, p) => a + p.bytes, 0);
  const title = parts.map((p) => `${label(p.kind)} ${fmt.bytes(p.bytes)}`).join(' · ');
  const el = h('div', { class: `progress-stacked wf-split${large ? ' wf-split-lg' : ''}`, title, role: 'img', 'aria-label': title });
  if (sum <= 0) return el;
  for (const p of parts) {
    if (p.bytes <= 0) continue;
    const seg = h('div', { class: 'progress', 'data-kind': p.kind }, h('div', { class: 'progress-bar' }));
    seg.style.width = `${(p.bytes / sum) * 100}%`;
    (seg.firstChild as HTMLElement).style.backgroundColor = colorOf(p.kind);
    el.append(seg);
  }
  return el;
}

/** A colour swatch; the colour set through the CSSOM (the CSP forbids style attributes). */
function swatch(color: string): HTMLElement {
  const el = h('span', { class: 'wf-swatch' });
  el.style.backgroundColor = color;
  return el;
}

export async function loadComposition(instanceId: number): Promise<void> {
  const box = document.getElementById('wf-composition-body');
  if (!box) return;
  const v = (await api<View>('GET', `/api/instances/${instanceId}/composition?${searchParams({ days: 30 } satisfies CompositionQuery)}`)).data;
  const kinds = v.parts.map((p) => p.kind);
  const colorOf = (k: string) => COLORS[Math.max(0, kinds.indexOf(k)) % COLORS.length]!;
  if (!v.collected_date) {
    box.replaceChildren(h('p', { class: 'text-muted mb-0', id: 'wf-composition-empty' }, t('composition.none')));
    return;
  }
  const measured = v.parts.filter((p): p is Part & { bytes: number } => p.bytes !== null);
  const missing = v.parts.filter((p) => p.bytes === null);
  const legend = measured.map((p) => {
    const g = v.growth[p.kind];
    return h(
      'span',
      { class: 'text-nowrap me-3', 'data-kind': p.kind },
      swatch(colorOf(p.kind)),
      `${label(p.kind)} ${fmt.bytes(p.bytes)}`,
      g === null || g === undefined ? '' : h('span', { class: 'small text-muted' }, ` (${g >= 0 ? '+' : ''}${fmt.bytes(g)})`),
    );
  });
  const history = h(
    'div',
    { class: 'd-flex flex-column gap-1 mt-2', id: 'wf-composition-history' },
    ...v.history.slice(-30).map((d) =>
      h(
        'div',
        { class: 'd-flex align-items-center gap-2' },
        h('span', { class: 'small text-muted wf-mono text-nowrap' }, d.date),
        bar(
          kinds.map((k) => ({ kind: k, bytes: d.parts[k] ?? 0 })),
          colorOf,
          false,
        ),
      ),
    ),
  );
  box.replaceChildren(
    h('div', { class: 'small text-muted mb-1' }, t('composition.as_of', { date: fmt.date(v.collected_date), total: fmt.bytes(v.measured_bytes) })),
    h('div', { id: 'wf-composition-bar' }, bar(measured, colorOf, true)),
    h('div', { class: 'mt-2', id: 'wf-composition-legend' }, ...legend),
    v.unexplained_bytes === null ? '' : h('div', { class: 'small mt-1' }, t('composition.unexplained', { bytes: fmt.bytes(v.unexplained_bytes) })),
    v.ceiling_bytes === null
      ? typeof v.ceiling_detail?.reason === 'string'
        ? h(
            'div',
            { class: 'small mt-1 text-muted', id: 'wf-composition-ceiling' },
            t('composition.ceiling_unknown', { reason: reasonText(v.ceiling_detail.reason, v.ceiling_detail.reason_msg) }),
          )
        : ''
      : h(
          'div',
          { class: 'small mt-1', id: 'wf-composition-ceiling' },
          t('composition.ceiling', { bytes: fmt.bytes(v.ceiling_bytes), source: v.ceiling_source ?? '' }),
        ),
    missing.length
      ? h(
          'ul',
          { class: 'small text-muted mt-2 mb-0', id: 'wf-composition-missing' },
          ...missing.map((p) => h('li', { 'data-kind': p.kind }, `${label(p.kind)}: ${t('composition.not_measured')} — ${reasonText(p.reason, p.reason_msg)}`)),
        )
      : '',
    h('details', { class: 'mt-2' }, h('summary', { class: 'small' }, t('composition.history')), history),
  );
}

export function wireComposition(instanceId: number): void {
  const btn = document.getElementById('wf-composition-collect') as HTMLButtonElement | null;
  if (btn && !can('operator')) btn.remove();
  btn?.addEventListener(
    'click',
    onAsync(async () => {
      try {
        await withSpinner(btn, () => api('POST', `/api/instances/${instanceId}/composition/collect`));
        await loadComposition(instanceId);
      } catch (err) {
        showAlert('danger', err instanceof ApiError ? err.message : String(err));
      }
    }),
  );
  void loadComposition(instanceId).catch((err: unknown) => showAlert('danger', err instanceof ApiError ? err.message : String(err)));
}
