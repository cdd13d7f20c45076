/** Logs: JSON lines by default (secrets redacted), one readable line each with --pretty. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, prettyDestination, prettyLine } from '../../src/lib/logger.js';

function capture() {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, out };
}

describe('logs', () => {
  it('default: one JSON object per line, secrets redacted', () => {
    const { lines, out } = capture();
    const log = createLogger('info', out as unknown as Parameters<typeof createLogger>[1]);
    log.info({ instance_name: 'pg-01', password: 'hunter2-secret' }, 'capacity sync started');
    log.flush();
    assert.equal(lines.length, 1);
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(o.msg, 'capacity sync started');
    assert.equal(o.level, 30);
    assert.equal(o.password, '***');
    assert.ok(!lines[0]!.includes('hunter2-secret'));
  });

  it('--pretty: time, level, message, then the fields; still redacted', () => {
    const { lines, out } = capture();
    const log = createLogger('info', prettyDestination(out));
    log.warn({ instance_name: 'pg-01', attempt: 2, password: 'hunter2-secret' }, 'capacity sync failed, will retry');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d WARN {2}capacity sync failed, will retry {2}instance_name=pg-01 attempt=2 password=\*\*\*$/);
    assert.equal(prettyLine('not json'), 'not json');
  });
});
