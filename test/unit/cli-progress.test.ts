/**
 * `sync --all` on a terminal: a log line written while the progress bar is
 * shown lands on its own line above the bar, which is drawn again; off a
 * terminal every update is a line of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drawProgress, writeLogLine } from '../../src/cli/progress.js';

function capture(tty: boolean, fn: () => void): string {
  const err = process.stderr as unknown as { write: (s: string) => boolean; isTTY: boolean | undefined };
  const { write, isTTY } = err;
  let out = '';
  err.write = (s: string) => ((out += s), true);
  err.isTTY = tty;
  try {
    fn();
  } finally {
    err.write = write;
    err.isTTY = isTTY;
  }
  return out;
}

describe('CLI progress bar and log lines', () => {
  it('on a terminal, a JSON log line clears the bar, is printed alone, and the bar is redrawn', () => {
    const out = capture(true, () => {
      drawProgress('[##....] 1/3 a: completed', false);
      writeLogLine('{"level":40,"msg":"b failed"}\n');
      drawProgress('[####..] 2/3 b: failed', false);
      drawProgress('[######] 3/3 c: completed', true);
      writeLogLine('{"level":30,"msg":"after"}');
    });
    // Each visible line, as a terminal shows it: \r\x1b[K erases the line being drawn.
    const screen = out.split('\n').map((l) => l.split('\r\x1b[K').at(-1));
    assert.deepEqual(screen, ['{"level":40,"msg":"b failed"}', '[######] 3/3 c: completed', '{"level":30,"msg":"after"}', '']);
    for (const l of out.split('\n')) assert.ok(!/\]\s.*\{"level"/.test(l.split('\r\x1b[K').at(-1)!), `no log inside the bar: ${JSON.stringify(l)}`);
  });

  it('off a terminal, bar updates and logs are lines of their own', () => {
    const out = capture(false, () => {
      drawProgress('[#.] 1/2 a: completed', false);
      writeLogLine('{"level":40,"msg":"x"}');
      drawProgress('[##] 2/2 b: completed', true);
    });
    assert.equal(out, '[#.] 1/2 a: completed\n{"level":40,"msg":"x"}\n[##] 2/2 b: completed\n');
  });
});
