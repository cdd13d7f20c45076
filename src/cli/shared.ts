/**
 * What the commands share: the parsed global options, the configuration, a
 * context opened and closed around a command, secrets from stdin or the
 * environment, and a plain-text table.
 */
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { format } from 'node:util';
import { stripControl } from '../lib/control-chars.js';
import { type Config } from '../config.js';
import { resolveConfig } from '../config-file.js';
import { createContext, type Context } from '../context.js';
import { createLogger } from '../lib/logger.js';
import { logDestination } from './progress.js';
import { isMsg, msgText, textOf, type Locale, type Msg } from '../client/shared/i18n/index.js';

export class CliError extends Error {}

/**
 * The language of the server's messages the CLI prints (sync warnings and errors, import errors, doctor lines):
 * WHALEFALL_LANG (`en` or `zh-CN`) when set, else the POSIX locale (LC_ALL, then LC_MESSAGES, then LANG): a `zh…`
 * locale is Chinese, any other named language (`en_US.UTF-8`, `de_DE`…) English; no locale, `C` or `POSIX` keeps
 * the seed's language, Chinese, as the API does without Accept-Language. The CLI's own labels and usage are English.
 */
export function cliLocale(env: NodeJS.ProcessEnv = process.env): Locale {
  const own = env.WHALEFALL_LANG?.trim().toLowerCase();
  if (own) return own.startsWith('zh') ? 'zh-CN' : 'en';
  const posix = [env.LC_ALL, env.LC_MESSAGES, env.LANG]
    .find((v) => v !== undefined && v.trim() !== '')
    ?.trim()
    .toLowerCase();
  if (!posix || posix === 'c' || posix === 'posix' || posix.startsWith('c.')) return 'zh-CN';
  return posix.startsWith('zh') ? 'zh-CN' : 'en';
}

/** A server message (by key, or text) in the CLI's language. */
export function cliText(m: Msg | string): string {
  return textOf(m, cliLocale());
}

/** An error's text in the CLI's language: by its key when it has one (AppError, SyncError), else its message. */
export function cliError(err: unknown): string {
  const m = (err as { msg?: unknown } | null)?.msg;
  if (m && typeof m === 'object' && typeof (m as Msg).key === 'string') return msgText(m as Msg, cliLocale());
  return err instanceof Error ? err.message || err.name : String(err);
}

/** Global options (`--config`, `--pretty`) and a command's flags, set as commander parses. */
export const cli: { configFile?: string; pretty?: boolean; flags: Record<string, string | undefined> } = { flags: {} };

/** flags > environment > whalefall.yaml > defaults. */
export function loadConfig(): Config {
  return resolveConfig({ configFile: cli.configFile, flags: cli.flags }).config;
}

/**
 * A JSON log line with its `error` in `locale` where the line carries the message's key (`error_msg`, as the sync
 * warnings do): the services log the seed's Chinese, the CLI prints its own language. Other lines as they are.
 */
export function localizeLogLine(line: string, locale: Locale): string {
  if (!line.includes('"error_msg":{')) return line;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (!isMsg(o.error_msg)) return line;
    return `${JSON.stringify({ ...o, error: msgText(o.error_msg, locale) })}\n`;
  } catch {
    return line;
  }
}

export async function withContext<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // CLI output is for people: logs go to stderr and only from warn up unless LOG_LEVEL says otherwise.
  // Through progress.ts: a log line never lands inside `sync --all`'s progress bar.
  const logger = createLogger(process.env.LOG_LEVEL || 'warn', { write: (line: string) => logDestination.write(localizeLogLine(line, cliLocale())) });
  const ctx = await createContext(config, { logger });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/**
 * A secret from stdin (first line) or from a named environment variable; never from argv. `what` names it in the
 * errors; `emptyHint` says how to give an empty one on purpose where one is allowed (an empty first line is refused:
 * it is far more often an unset variable piped in, `printf '%s\n' "$PW"`, than a login without a password).
 */
export async function readSecret(opts: { passwordStdin?: boolean; passwordEnv?: string }, what: string, emptyHint?: string): Promise<string | undefined> {
  if (opts.passwordStdin) {
    // At a terminal: asked for, not echoed, one line. Piped: the first line of what comes.
    const line = process.stdin.isTTY ? await promptHidden('Password: ') : ((await readStdin()).split(/\r?\n/)[0] ?? '');
    if (!line) throw new CliError(`--password-stdin: the first line of standard input is empty (${what})${emptyHint ? `; ${emptyHint}` : ''}`);
    return line;
  }
  if (opts.passwordEnv) {
    const v = process.env[opts.passwordEnv];
    if (v === undefined) throw new CliError(`--password-env: the environment variable ${opts.passwordEnv} is not set (${what})`);
    return v;
  }
  return undefined;
}

/**
 * One line typed at a terminal, without echo: the prompt on stderr, the terminal in raw mode through readline (its
 * line editing kept, its output thrown away) until Enter. Ctrl-D gives what was typed so far; Ctrl-C refuses.
 */
export function promptHidden(prompt: string, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input, output: new Writable({ write: (_chunk, _enc, done) => done() }), terminal: true });
    let answered = false;
    const end = (fn: () => void) => {
      if (answered) return;
      answered = true;
      rl.close();
      output.write('\n');
      fn();
    };
    rl.on('line', (line) => end(() => resolve(line)));
    rl.on('SIGINT', () => end(() => reject(new CliError('--password-stdin: cancelled'))));
    rl.on('close', () => end(() => resolve(rl.line)));
    output.write(prompt);
  });
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * What the commands print for people (console.log / console.error alike), without control characters or
 * terminal escapes: versions, error texts and database names come from monitored servers
 * (lib/control-chars.ts). File contents written to stdout (an export) go out as they are.
 */
export function print(...parts: unknown[]): void {
  console.log(stripControl(format(...parts), { multiline: true }));
}

export function printErr(...parts: unknown[]): void {
  console.error(stripControl(format(...parts), { multiline: true }));
}

/** `1 error`, `2 errors`: a count and its noun. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// East Asian wide and fullwidth characters (Hangul Jamo, CJK, kana, Hangul syllables, compatibility ideographs,
// fullwidth forms) and emoji take two columns of a terminal; everything else one — "—" (U+2014) and "…" included.
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;

/** The columns a string takes on a terminal. */
export function displayWidth(s: string): number {
  return [...s].reduce((w, ch) => w + (WIDE.test(ch) ? 2 : 1), 0);
}

export function table(rows: Record<string, string | number | null>[]): string {
  if (rows.length === 0) return '(none)';
  const cols = Object.keys(rows[0]!);
  // One line per row: a cell's newline or escape (a server-chosen name or error) must not break the table.
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'string') return stripControl(v);
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
    return stripControl(JSON.stringify(v) ?? '');
  };
  const w = cols.map((c) => Math.max(displayWidth(c), ...rows.map((r) => displayWidth(cell(r[c])))));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v + ' '.repeat(w[i]! - displayWidth(v)))
      .join('  ')
      .trimEnd();
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}
