/**
 * stderr for the CLI: a progress bar (`sync --all`) and the log lines share it. On a terminal the bar is one
 * line redrawn with `\r`; a log line written meanwhile (a warning about a failing instance) used to land in
 * the middle of the bar. Here a log line clears the bar's line, is printed on its own, and the bar is drawn
 * again below it. Not a terminal: every bar update is a line of its own, logs are lines of their own.
 */
import { stripControl } from '../lib/control-chars.js';

const ERASE_LINE = '\r\x1b[K';

let bar = '';

function out(): NodeJS.WriteStream {
  return process.stderr;
}

/** Draw (or redraw) the bar; `last` ends it with a newline. */
export function drawProgress(text: string, last: boolean): void {
  // Instance names and errors come from servers: no escape sequence reaches the terminal.
  const line = stripControl(text);
  if (!out().isTTY) {
    out().write(`${line}\n`);
    return;
  }
  bar = last ? '' : line;
  out().write(`${ERASE_LINE}${line}${last ? '\n' : ''}`);
}

/** A log line (JSON or `--pretty`) that must not land inside the bar. */
export function writeLogLine(text: string): void {
  const line = text.endsWith('\n') ? text : `${text}\n`;
  if (bar && out().isTTY) out().write(`${ERASE_LINE}${line}${bar}`);
  else out().write(line);
}

/** A pino destination writing through writeLogLine. */
export const logDestination = { write: (chunk: string) => writeLogLine(chunk) };
