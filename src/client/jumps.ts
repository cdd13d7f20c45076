/** Why it jumped (runway items' `jumps`, see services/runway-jumps.ts): one day as a line of text plus its named contributors; used by the runway and instance pages. */
import { fmt, h, t } from './ui.js';

export interface Contributor {
  name: string;
  change_bytes: number;
  share: number;
}

export interface Jump {
  date: string;
  previous_date: string;
  change_bytes: number;
  expected_bytes: number;
  databases: Contributor[] | null;
  tables: Contributor[] | null;
  parts: Contributor[] | null;
}

const names = (list: Contributor[] | null) =>
  list && list.length ? list.map((c) => `${c.name} ${fmt.change(c.change_bytes)} (${Math.round(c.share * 100)}%)`).join(', ') : null;

/** The day, then one line per kind of contributor that has names. */
export function jumpBlock(j: Jump): HTMLElement {
  const lines: [string, string | null][] = [
    [t('runway.jump_databases'), names(j.databases)],
    [t('runway.jump_tables'), names(j.tables)],
    [t('runway.jump_parts'), names(j.parts)],
  ];
  return h(
    'div',
    { class: 'wf-jump small', 'data-date': j.date },
    h(
      'div',
      { class: 'fw-semibold' },
      t('runway.jump', { date: fmt.date(j.date), change: fmt.change(j.change_bytes), expected: fmt.change(j.expected_bytes) }),
    ),
    ...lines.filter(([, v]) => v !== null).map(([k, v]) => h('div', { class: 'text-muted' }, `${k}: ${v}`)),
  );
}
