/**
 * `closeTelling` (engines/common.ts): a close says its goodbye has left once the driver's stream has ended its
 * write side — not when `close()` was called, and not only when the whole close has ended. The connection's
 * slot is freed shortly after that (connection.service.ts), so the next connection does not reach the server
 * before this one's end. A fake stream whose end completes later stands in for the socket.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { closeTelling } from '../../src/engines/common.js';

/** A stream whose end (its FIN) is written `finalMs` after `end()` is called. */
function slowEnding(finalMs: number): Duplex {
  return new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      cb();
    },
    final(cb) {
      setTimeout(cb, finalMs);
    },
  });
}

describe('closeTelling', () => {
  it('tells the goodbye once the stream has ended its write side, before the close has ended', async () => {
    const stream = slowEnding(30);
    const events: string[] = [];
    stream.on('finish', () => events.push('finish'));
    const closing = closeTelling(
      5_000,
      async () => {
        stream.end(); // the driver ends its socket; the server's answer comes later
        await sleep(80);
      },
      () => stream.destroy(),
      stream,
    );
    void closing.sent!.then(() => events.push('sent'));
    void closing.then(() => events.push('closed'));
    await sleep(10);
    assert.deepEqual(events, [], 'not told while the stream is still ending');
    await closing;
    assert.deepEqual(events, ['finish', 'sent', 'closed']);
  });

  it('a close that ends first tells it then (a stream that never finishes)', async () => {
    const stream = slowEnding(60_000);
    const closing = closeTelling(
      50,
      () => new Promise(() => {}), // a server that never answers: the bound destroys the stream
      () => stream.destroy(),
      stream,
    );
    await closing;
    await closing.sent;
    assert.equal(stream.destroyed, true);
  });

  it('no stream, or one already ended or destroyed: told at once', async () => {
    const destroyed = slowEnding(0);
    destroyed.destroy();
    for (const stream of [undefined, {}, destroyed]) {
      let sent = false;
      const closing = closeTelling(
        5_000,
        () => sleep(50),
        () => {},
        stream,
      );
      void closing.sent!.then(() => (sent = true));
      await sleep(5);
      assert.equal(sent, true);
      await closing;
    }
  });
});
