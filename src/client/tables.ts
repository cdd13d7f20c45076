/** The table size split bar (data / index / TOAST-LOB / free), shared by the database page's rows and totals. */
import { fmt, h, t } from './ui.js';

export interface Split {
  total_bytes: number | null;
  data_bytes: number | null;
  index_bytes: number | null;
  lob_bytes: number | null;
  free_bytes: number | null;
}

export const PARTS = [
  ['data_bytes', 'data', 'tables.col_data'],
  ['index_bytes', 'index', 'tables.col_index'],
  ['lob_bytes', 'lob', 'tables.col_lob'],
  ['free_bytes', 'free', 'tables.col_free'],
] as const;

/** A stacked bar: each part's width is its share of data + index + TOAST/LOB + free. */
export function splitBar(s: Split, large = false): HTMLElement {
  const sum = PARTS.reduce((a, [k]) => a + (s[k] ?? 0), 0);
  const title = PARTS.filter(([k]) => s[k] !== null)
    .map(([k, , label]) => `${t(label)} ${fmt.bytes(s[k])}`)
    .join(' · ');
  const bar = h('div', { class: `progress-stacked wf-split${large ? ' wf-split-lg' : ''}`, title, role: 'img', 'aria-label': title });
  if (sum > 0) {
    for (const [k, cls] of PARTS) {
      const v = s[k] ?? 0;
      if (v <= 0) continue;
      const part = h(
        'div',
        { class: 'progress', role: 'progressbar', 'aria-valuenow': Math.round((v / sum) * 100), 'aria-valuemin': 0, 'aria-valuemax': 100 },
        h('div', { class: `progress-bar wf-split-${cls}` }),
      );
      part.style.width = `${(v / sum) * 100}%`;
      bar.append(part);
    }
  }
  return bar;
}

/** The legend under the database's bar: a swatch, the part's name and its bytes (parts the engine does not report are left out). */
export function splitLegend(s: Split): HTMLElement[] {
  return PARTS.filter(([k]) => s[k] !== null).map(([k, cls, label]) =>
    h('span', { class: 'text-nowrap' }, h('span', { class: `wf-swatch wf-split-${cls}` }), `${t(label)} ${fmt.bytes(s[k])}`),
  );
}
