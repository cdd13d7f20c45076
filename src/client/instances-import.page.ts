/**
 * The import page (issue #10): a CSV / YAML file (chosen or pasted) goes to
 * POST /api/instances/import?dry_run=true first; the preview shows every row's
 * action (create / update with the changed fields / unchanged / invalid) and
 * each error at its row and column. "Import" posts the same text for real and
 * is only enabled for the content and options last previewed.
 */
import { api, ApiError, clearAlerts, errorText, h, icon, onAsync, searchParams, serverText, showAlert, t, withSpinner } from './ui.js';
import type { ImportError, ImportInstancesQuery, ImportReport as Report } from './shared/api-types.js';

const CONTENT_TYPE = { csv: 'text/csv', yaml: 'application/yaml' } as const;
const ACTION_CLASS = { create: 'text-bg-success', update: 'text-bg-primary', unchanged: 'text-bg-light border', invalid: 'text-bg-danger' } as const;

const form = document.getElementById('wf-import-form') as HTMLFormElement;
const fileInput = document.getElementById('wf-import-file') as HTMLInputElement;
const formatSel = document.getElementById('wf-import-format') as HTMLSelectElement;
const text = document.getElementById('wf-import-text') as HTMLTextAreaElement;
const partial = document.getElementById('wf-import-partial') as HTMLInputElement;
const disableMissing = document.getElementById('wf-import-disable-missing') as HTMLInputElement;
const previewBtn = document.getElementById('wf-import-preview') as HTMLButtonElement;
const applyBtn = document.getElementById('wf-import-apply') as HTMLButtonElement;

/** What the last preview was of: Import is enabled only while the form still says exactly this. */
let previewed: string | undefined;
const current = () => JSON.stringify([formatSel.value, text.value, partial.checked, disableMissing.checked]);
const format = (): NonNullable<ImportInstancesQuery['format']> => (formatSel.value === 'yaml' ? 'yaml' : 'csv');

/** The import's query: each flag sent only when true (absent = false). */
function url(dryRun: boolean, confirmDuplicates = false): string {
  const q = searchParams({
    format: format(),
    confirm_duplicates: confirmDuplicates || undefined,
    dry_run: dryRun || undefined,
    partial: partial.checked || undefined,
    disable_missing: disableMissing.checked || undefined,
  } satisfies ImportInstancesQuery);
  return `/api/instances/import?${q}`;
}

fileInput.addEventListener(
  'change',
  onAsync(async () => {
    const f = fileInput.files?.[0];
    if (!f) return;
    if (/\.ya?ml$/i.test(f.name)) formatSel.value = 'yaml';
    else if (/\.csv$/i.test(f.name)) formatSel.value = 'csv';
    text.value = await f.text();
    stale();
  }),
);

function stale(): void {
  const same = previewed !== undefined && previewed === current();
  applyBtn.disabled = !same || !applyBtn.dataset.ok;
  document.getElementById('wf-import-stale')?.classList.toggle('wf-hidden', same || previewed === undefined);
}
for (const el of [formatSel, text, partial, disableMissing]) el.addEventListener('input', stale);
for (const el of [formatSel, partial, disableMissing]) el.addEventListener('change', stale);

function errorItem(e: ImportError): HTMLElement {
  return h(
    'li',
    { class: 'wf-import-error', 'data-wf-error-row': e.row, 'data-wf-error-column': e.column ?? '', 'data-wf-error-field': e.field },
    e.column !== null || e.field
      ? h('span', { class: 'badge text-bg-danger me-1 wf-mono' }, t('import.at', { column: e.column ?? '—', field: e.field }))
      : null,
    serverText(e.message, e.message_key, e.params),
  );
}

function render(r: Report, done: boolean): void {
  document.getElementById('wf-import-result')!.classList.remove('wf-hidden');
  const summary = document.getElementById('wf-import-summary')!;
  const lines: HTMLElement[] = [
    h(
      'div',
      { id: 'wf-import-counts', class: 'fw-semibold' },
      t('import.summary', { total: r.total_rows, created: r.created, updated: r.updated, unchanged: r.unchanged, invalid: r.invalid_rows }),
    ),
  ];
  if (r.missing.length)
    lines.push(h('div', { class: 'small text-muted', id: 'wf-import-missing' }, t('import.missing', { n: r.missing.length, names: r.missing.join(', ') })));
  if (r.disabled.length)
    lines.push(
      h(
        'div',
        { class: 'small text-warning-emphasis', id: 'wf-import-disabled' },
        t('import.disabled', { n: r.disabled.length, names: r.disabled.join(', ') }),
      ),
    );
  if (done)
    lines.push(
      h(
        'div',
        { class: 'alert alert-success mt-2 mb-0', id: 'wf-import-done' },
        icon('fas fa-circle-check me-2'),
        t('import.done', { created: r.created, updated: r.updated, unchanged: r.unchanged, disabled: r.disabled.length }),
        ' ',
        h('a', { href: '/instances', class: 'alert-link' }, t('import.back')),
      ),
    );
  else if (r.errors.length)
    lines.push(h('div', { class: 'alert alert-danger mt-2 mb-0', id: 'wf-import-has-errors' }, t('import.has_errors', { n: r.errors.length })));
  else lines.push(h('div', { class: 'alert alert-info mt-2 mb-0', id: 'wf-import-ready' }, t('import.ready')));
  lines.push(h('div', { class: 'small text-warning-emphasis mt-1 wf-hidden', id: 'wf-import-stale' }, t('import.stale')));
  summary.replaceChildren(...lines);

  // The file's own problems and the CSV header's (row 1, not a row of the preview): listed above the table.
  const previewed = new Set(r.rows.map((x) => x.row));
  const fileErrors = r.errors.filter((e) => e.row === 0 || !previewed.has(e.row));
  document
    .getElementById('wf-import-file-errors')!
    .replaceChildren(
      ...(fileErrors.length
        ? [
            h(
              'div',
              { class: 'alert alert-danger', id: 'wf-import-file-error-list' },
              h('div', { class: 'fw-semibold' }, t('import.file_errors')),
              h('ul', { class: 'mb-0' }, ...fileErrors.map((e) => errorItem({ ...e, field: e.field || `${t('import.col_line')} ${e.line}` }))),
            ),
          ]
        : []),
    );
  const byRow = new Map<number, ImportError[]>();
  for (const e of r.errors) if (previewed.has(e.row)) byRow.set(e.row, [...(byRow.get(e.row) ?? []), e]);
  document.getElementById('wf-import-rows')!.replaceChildren(
    ...r.rows.map((row) => {
      const errs = byRow.get(row.row) ?? [];
      return h(
        'tr',
        { 'data-wf-import-row': row.row, 'data-wf-action': row.action, class: row.action === 'invalid' ? 'table-danger' : null },
        h('td', { class: 'wf-num' }, row.row),
        h('td', { class: 'wf-num wf-hide-sm text-muted' }, row.line),
        h('td', { class: 'wf-name' }, row.name ?? '—'),
        h('td', {}, h('span', { class: `badge ${ACTION_CLASS[row.action]}` }, t(`import.action.${row.action}`))),
        h(
          'td',
          { class: 'small' },
          row.changes?.length
            ? h('span', { class: 'wf-import-changes' }, ...row.changes.map((c) => h('span', { class: 'badge text-bg-light border me-1 wf-mono' }, c)))
            : null,
          errs.length ? h('ul', { class: 'mb-0 ps-3 text-danger' }, ...errs.map(errorItem)) : null,
        ),
      );
    }),
  );
}

async function send(dryRun: boolean, btn: HTMLButtonElement): Promise<void> {
  clearAlerts();
  if (!text.value.trim()) {
    showAlert('warning', t('import.empty'));
    return;
  }
  const sent = current();
  try {
    const post = (confirm: boolean) => withSpinner(btn, () => api<Report>('POST', url(dryRun, confirm), text.value, CONTENT_TYPE[format()]));
    let res;
    try {
      res = await post(false);
    } catch (err) {
      // Rows for servers already registered (409 duplicate_server): list them and import only on a yes.
      if (!(err instanceof ApiError && err.code === 'duplicate_server')) throw err;
      const dups = (err.data as Report).duplicates.map((d) => `${d.name} = ${d.same_as.join(', ')}`).join('\n');
      if (!window.confirm(t('import.confirm_duplicates', { rows: dups }))) throw err;
      res = await post(true);
    }
    const r = res.data;
    render(r, !dryRun);
    if (dryRun) {
      previewed = sent;
      applyBtn.dataset.ok = r.valid_rows > 0 && (r.errors.length === 0 || partial.checked) ? '1' : '';
    } else {
      previewed = undefined;
      applyBtn.dataset.ok = '';
    }
  } catch (err) {
    // A refused import answers 400 with the same report in `data`.
    if (err instanceof ApiError && err.data && typeof err.data === 'object' && 'rows' in err.data) render(err.data as Report, false);
    showAlert('danger', errorText(err));
    previewed = undefined;
  }
  stale();
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void send(true, previewBtn);
});
applyBtn.addEventListener('click', () => void send(false, applyBtn));
