/**
 * Strings chosen by someone else — a monitored server's version and error texts, a receiver's words, names
 * read over the network — made safe to print. A server whose version is `16.4\x1b[2J` would otherwise clear
 * the operator's terminal when the CLI prints it, `\x1b]8;;…` would plant a link, and U+202E would show a
 * name backwards in the UI and the logs.
 *
 * Removed: ANSI escape sequences whole (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, other `ESC x`), the C0
 * controls and DEL, the C1 controls (U+0080–U+009F: U+009B is a CSI on its own in some terminals), and the
 * bidirectional formatting characters (U+061C, U+200E/F, U+202A–E, U+2066–9). Tab and newline are kept only
 * with `multiline` (an error text may have lines); otherwise each becomes a space. Nothing else changes:
 * letters of every script, emoji and punctuation stay as they were.
 *
 * @example stripControl('16.4\x1b[2J\x07 \u202eevil') === '16.4 evil'
 */
// ESC [ params intermediates final | ESC ] … (BEL | ESC \) | ESC and one character | the 8-bit CSI / OSC forms.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const TEST = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\t\n]/;

export function stripControl(s: string, opts: { multiline?: boolean } = {}): string {
  if (!TEST.test(s)) return s; // the common case: nothing to do, no copy
  const out = s.replace(ANSI, '').replace(CONTROL, '');
  return opts.multiline ? out : out.replace(/[\t\n]/g, ' ');
}

/** `stripControl` over every string of a plain value (objects, arrays, Errors' message and stack), for log arguments. */
export function stripControlDeep<T>(v: T, depth = 0): T {
  if (typeof v === 'string') return stripControl(v, { multiline: true }) as T;
  if (v === null || typeof v !== 'object' || depth > 6) return v;
  if (Array.isArray(v)) return (v as unknown[]).map((x) => stripControlDeep(x, depth + 1)) as T;
  if (v instanceof Error) {
    const e = Object.assign(Object.create(Object.getPrototypeOf(v) as object) as Error, stripControlDeep({ ...v }, depth + 1));
    e.message = stripControl(v.message, { multiline: true });
    if (v.stack !== undefined) e.stack = stripControl(v.stack, { multiline: true });
    return e;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = stripControlDeep(x, depth + 1);
  return out as T;
}
