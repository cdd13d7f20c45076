/**
 * What answers on host:port — without logging in. One TCP connection:
 * - MySQL and MariaDB speak first: a handshake packet (protocol 10, then the
 *   NUL-terminated server version; "MariaDB" in it tells the two apart), or
 *   an error packet (0xff, e.g. "Host … is not allowed to connect").
 * - PostgreSQL waits for the client: after a short silence we send an
 *   SSLRequest (8 bytes) and a PostgreSQL server answers one byte, 'S' or 'N'.
 * Nothing else is sent, no credential, no startup message: the server logs at
 * most an aborted connection. Anything else (silence, other bytes, refused,
 * timeout) is "not a database we know".
 */
import net from 'node:net';

export type ProbeResult =
  | { kind: 'postgresql'; server_version: null }
  | { kind: 'mysql' | 'mariadb'; server_version: string | null; note?: string }
  | { kind: 'none'; reason: 'refused' | 'timeout' | 'unknown_protocol' | 'error'; detail?: string };

/** Fixed length 8, code 80877103 (1234 << 16 | 5679). */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** Parse a MySQL-family greeting; undefined when the bytes are not one. */
export function parseMysqlGreeting(buf: Buffer): Extract<ProbeResult, { kind: 'mysql' | 'mariadb' }> | undefined {
  if (buf.length < 5) return undefined;
  const len = buf.readUIntLE(0, 3);
  if (len < 1 || len > 1 << 16) return undefined;
  const first = buf[4];
  if (first === 0x0a) {
    const end = buf.indexOf(0, 5);
    if (end < 0) return undefined;
    // MariaDB 10+ prefixes "5.5.5-" for old replication clients: drop it.
    const version = buf.toString('latin1', 5, end).replace(/^5\.5\.5-(?=.*mariadb)/i, '');
    if (!/^\d+\.\d+/.test(version)) return undefined;
    return { kind: /mariadb/i.test(version) ? 'mariadb' : 'mysql', server_version: version };
  }
  if (first === 0xff && buf.length >= 7) {
    // Error packet: code (2 bytes), then the message (a '#' and SQL state on 4.1+ servers).
    const msg = buf.toString('utf8', 7, Math.min(buf.length, 4 + len)).replace(/^#[0-9A-Z]{5}/, '');
    return { kind: 'mysql', server_version: null, note: msg.slice(0, 200) };
  }
  return undefined;
}

/**
 * Probe one endpoint within `timeoutMs` (connect + answer). `greetingWaitMs`
 * is how long a silent server is given to speak first before it is asked
 * the PostgreSQL question.
 */
export function probeEndpoint(host: string, port: number, opts: { timeoutMs: number; greetingWaitMs?: number }): Promise<ProbeResult> {
  const greetingWait = Math.min(opts.greetingWaitMs ?? 300, opts.timeoutMs);
  return new Promise((resolve) => {
    let done = false;
    let buf = Buffer.alloc(0);
    let askedPg = false;
    let greetTimer: NodeJS.Timeout | undefined;
    const socket = net.connect({ host, port });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(greetTimer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: 'none', reason: 'timeout' }), opts.timeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      greetTimer = setTimeout(() => {
        if (done || buf.length) return;
        askedPg = true;
        socket.write(SSL_REQUEST);
      }, greetingWait);
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (askedPg) {
        const b = buf[0];
        if (buf.length === 1 && (b === 0x53 || b === 0x4e)) finish({ kind: 'postgresql', server_version: null });
        else finish({ kind: 'none', reason: 'unknown_protocol' });
        return;
      }
      const greeting = parseMysqlGreeting(buf);
      if (greeting) finish(greeting);
      else if (buf.length >= 5 && buf.length >= 4 + buf.readUIntLE(0, 3)) finish({ kind: 'none', reason: 'unknown_protocol' });
      else if (buf.length > 4096) finish({ kind: 'none', reason: 'unknown_protocol' });
    });
    socket.on('end', () => {
      // 'N' may come with the close of a server that then hangs up; anything else is not an answer we know.
      if (askedPg && buf.length === 1 && (buf[0] === 0x53 || buf[0] === 0x4e)) finish({ kind: 'postgresql', server_version: null });
      else finish({ kind: 'none', reason: 'unknown_protocol' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish({ kind: 'none', reason: err.code === 'ECONNREFUSED' ? 'refused' : 'error', detail: err.code ?? err.message }),
    );
  });
}
