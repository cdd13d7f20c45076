/**
 * A tiny PostgreSQL server for tests and benches: speaks just enough of the
 * v3 wire protocol for the REAL `pg` client to log in and run queries, so an
 * engine is exercised through the driver's own parsers, over TCP, with no
 * database behind it (and no backend fork per connection).
 *
 * What the client sends and what this answers (docs: "Frontend/Backend
 * Protocol", message formats; ground truth for pg: node_modules/pg-protocol):
 * - SSLRequest / GSSENCRequest → 'N' (not supported; pg then goes on in plain
 *   text if it may, or fails). CancelRequest → the socket is closed.
 * - StartupMessage → `password` set: AuthenticationCleartextPassword, then
 *   the PasswordMessage is compared (28P01 on mismatch). Then `login` may refuse
 *   with an ErrorResponse (e.g. 3D000, 53300). Otherwise AuthenticationOk,
 *   ParameterStatus ×N, BackendKeyData, ReadyForQuery.
 * - Query 'Q' (simple protocol: pg's query without parameters) → the reply's
 *   RowDescription, DataRow ×n, CommandComplete, ReadyForQuery; or
 *   ErrorResponse + ReadyForQuery. One statement per Query: no splitting on ';'.
 * - Parse/Bind/Describe(portal)/Execute/Sync (extended protocol: pg's query
 *   with parameters) → ParseComplete, BindComplete, RowDescription, DataRow ×n,
 *   CommandComplete, ReadyForQuery. After an error every message up to Sync is
 *   ignored, as a real server does. Describe of a statement ('S') is not
 *   supported (pg never sends it for an ordinary query): it gets an error.
 * - Terminate 'X' → the socket is closed.
 * Every value goes out in text format; each column's type OID decides how pg
 * parses it (int8 stays a string, bool becomes true/false, int4/oid numbers).
 * Not supported: COPY, notifications, cursors (Execute with a row limit is
 * answered in full), binary result formats, SCRAM/MD5 authentication.
 */
import net from 'node:net';

/** Type OIDs from pg_type; the column's type tells pg how to parse the text. */
export const OID = { bool: 16, int8: 20, int4: 23, text: 25, oid: 26, numeric: 1700 } as const;
export type PgType = keyof typeof OID;
export type Value = string | number | bigint | boolean | null;
export interface Column {
  name: string;
  /** Default: text. */
  type?: PgType;
}
export interface ResultSet {
  columns: (string | Column)[];
  rows: Value[][];
  /** CommandComplete tag; default `SELECT <rows>`. */
  command?: string;
}
/** The columns of the PostgreSQL collector's bulk size query (`pg_database_size(oid)`), one row per database. */
export const SIZE_COLUMNS: ResultSet['columns'] = [
  { name: 'oid', type: 'oid' },
  'datname',
  { name: 'invalid', type: 'bool' },
  { name: 'allowed', type: 'bool' },
  { name: 'size', type: 'int8' },
  'server_version',
];

/** An answer to the bulk size query: `[name, size as int8 text or null]` per database, each valid and connectable, oids from 30,000. */
export function sizesReply(databases: [string, string | null][], serverVersion = '15.7 (responder)'): ResultSet {
  return { columns: SIZE_COLUMNS, rows: databases.map(([name, size], i) => [30_000 + i, name, false, true, size, serverVersion]) };
}

/** An ErrorResponse: SQLSTATE `code` (e.g. '42501') and message. */
export interface ServerError {
  code: string;
  message: string;
  /** Default ERROR; FATAL closes the connection after sending. */
  severity?: 'ERROR' | 'FATAL';
}
export type Reply = ResultSet | { error: ServerError };
export interface StartupInfo {
  /** Startup parameters as sent: user, database, application_name, statement_timeout… */
  params: Record<string, string>;
}
/** Answer one statement; undefined falls through to the defaults (SHOW server_version), then to a 42601 error. */
export type Handler = (sql: string, params: (string | null)[], session: StartupInfo) => Reply | undefined;

export interface PgResponderOptions {
  handler: Handler;
  /** Ask for a cleartext password and check it; default: no authentication. */
  password?: string;
  /** Refuse a login after authentication, or accept it with null. */
  login?: (session: StartupInfo) => ServerError | null;
  /** Reported in ParameterStatus and by `SHOW server_version`. Default '16.4 (pg-responder)'. */
  serverVersion?: string;
}
export interface PgResponder {
  host: '127.0.0.1';
  port: number;
  /** Every statement received (simple and extended), in order, for assertions. */
  queries: string[];
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

// ---- encoding (the protocol is big-endian) ----
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
/** A backend message: type byte, int32 length (itself included), body. */
const msg = (type: string, ...body: Buffer[]) => {
  const payload = Buffer.concat(body);
  return Buffer.concat([Buffer.from(type, 'ascii'), i32(payload.length + 4), payload]);
};
const READY = msg('Z', Buffer.from('I'));
const text = (v: Value): Buffer | null => (v === null ? null : Buffer.from(typeof v === 'boolean' ? (v ? 't' : 'f') : String(v), 'utf8'));

function errorResponse(e: ServerError): Buffer {
  const sev = e.severity ?? 'ERROR';
  const field = (code: string, value: string) => Buffer.concat([Buffer.from(code, 'ascii'), cstr(value)]);
  return msg('E', field('S', sev), field('V', sev), field('C', e.code), field('M', e.message), Buffer.from([0]));
}

function rowDescription(rs: ResultSet): Buffer {
  const fields = rs.columns.map((c) => {
    const col = typeof c === 'string' ? { name: c } : c;
    // name, table OID, attnum, type OID, typlen (-1: variable), typmod, format 0 = text
    return Buffer.concat([cstr(col.name), i32(0), i16(0), i32(OID[col.type ?? 'text']), i16(-1), i32(-1), i16(0)]);
  });
  return msg('T', i16(fields.length), ...fields);
}

/** DataRow ×n + CommandComplete: the rows of a result, without its RowDescription. */
function rowsAndTag(rs: ResultSet): Buffer {
  const rows = rs.rows.map((row) => {
    const cells = row.map(text).map((b) => (b === null ? i32(-1) : Buffer.concat([i32(b.length), b])));
    return msg('D', i16(row.length), ...cells);
  });
  return Buffer.concat([...rows, msg('C', cstr(rs.command ?? `SELECT ${rs.rows.length}`))]);
}

// ---- decoding a frontend message body ----
class Reader {
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
  ) {}
  int16() {
    this.pos += 2;
    return this.buf.readInt16BE(this.pos - 2);
  }
  int32() {
    this.pos += 4;
    return this.buf.readInt32BE(this.pos - 4);
  }
  cstr() {
    const end = this.buf.indexOf(0, this.pos);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number) {
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }
  byte() {
    return String.fromCharCode(this.buf[this.pos++]!);
  }
}

const SSL_REQUEST = 80877103,
  GSSENC_REQUEST = 80877104,
  CANCEL_REQUEST = 80877102;

export async function startPgResponder(opts: PgResponderOptions): Promise<PgResponder> {
  const version = opts.serverVersion ?? '16.4 (pg-responder)';
  const queries: string[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let pid = 1000;

  /** The test's answer, else the defaults, else a syntax error naming the statement. */
  const answer = (sql: string, params: (string | null)[], session: StartupInfo): Reply => {
    queries.push(sql);
    const reply = opts.handler(sql, params, session);
    if (reply) return reply;
    if (/^\s*SHOW\s+server_version\s*;?\s*$/i.test(sql)) return { columns: ['server_version'], rows: [[version]], command: 'SHOW' };
    return { error: { code: '42601', message: `pg-responder: no answer for: ${sql.trim().slice(0, 200)}` } };
  };

  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);

    const session: StartupInfo = { params: {} };
    let phase: 'startup' | 'password' | 'ready' = 'startup';
    let pending: Buffer = Buffer.alloc(0);
    /** Extended protocol state: statements by name, portals by name, skipping to Sync after an error. */
    const statements = new Map<string, string>();
    const portals = new Map<string, { sql: string; params: (string | null)[]; reply?: Reply }>();
    let skipToSync = false;

    const fail = (e: ServerError) => {
      socket.write(errorResponse(e));
      if (e.severity === 'FATAL') socket.end();
    };
    const welcome = () => {
      const refusal = opts.login?.(session);
      if (refusal) return fail({ ...refusal, severity: 'FATAL' });
      phase = 'ready';
      const status = {
        server_version: version,
        server_encoding: 'UTF8',
        client_encoding: 'UTF8',
        DateStyle: 'ISO, MDY',
        TimeZone: 'UTC',
        integer_datetimes: 'on',
        standard_conforming_strings: 'on',
      };
      socket.write(
        Buffer.concat([
          msg('R', i32(0)), // AuthenticationOk
          ...Object.entries(status).map(([k, v]) => msg('S', cstr(k), cstr(v))),
          msg('K', i32(pid++), i32(0x5ec2e7)), // BackendKeyData
          READY,
        ]),
      );
    };

    const startup = (body: Reader) => {
      const code = body.int32();
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) return void socket.write('N');
      if (code === CANCEL_REQUEST) return void socket.end();
      for (let key = body.cstr(); key !== ''; key = body.cstr()) session.params[key] = body.cstr();
      if (opts.password === undefined) return welcome();
      phase = 'password';
      socket.write(msg('R', i32(3))); // AuthenticationCleartextPassword
    };

    /** One typed message; returns the bytes to send (startup and login replies are written directly). */
    const handle = (type: string, body: Reader): Buffer | void => {
      if (phase === 'password') {
        if (type === 'p' && body.cstr() === opts.password) return welcome();
        return fail({ code: '28P01', message: `password authentication failed for user "${session.params.user ?? ''}"`, severity: 'FATAL' });
      }
      if (type === 'X') return void socket.end();
      if (type === 'S') {
        skipToSync = false;
        return READY;
      }
      if (skipToSync) return;
      if (type === 'Q') {
        const reply = answer(body.cstr(), [], session);
        return Buffer.concat(['error' in reply ? errorResponse(reply.error) : Buffer.concat([rowDescription(reply), rowsAndTag(reply)]), READY]);
      }
      const failed = (e: ServerError) => {
        skipToSync = true;
        return errorResponse(e);
      };
      switch (type) {
        case 'P': {
          // Parse: name, text, parameter type OIDs (ignored: every parameter arrives as text)
          const name = body.cstr();
          statements.set(name, body.cstr());
          return msg('1');
        }
        case 'B': {
          // Bind: portal, statement, parameter formats, parameters, result formats
          const portal = body.cstr();
          const sql = statements.get(body.cstr());
          if (sql === undefined) return failed({ code: '26000', message: 'prepared statement does not exist' });
          const formats = Array.from({ length: body.int16() }, () => body.int16());
          const params = Array.from({ length: body.int16() }, (_, i) => {
            const len = body.int32();
            if (len < 0) return null;
            const raw = body.bytes(len);
            // Binary parameters (pg sends Buffers so) are handed over as \x hex, as bytea's text form.
            return (formats[i] ?? formats[0] ?? 0) === 1 ? `\\x${raw.toString('hex')}` : raw.toString('utf8');
          });
          portals.set(portal, { sql, params });
          return msg('2');
        }
        case 'D': {
          // Describe: 'P' portal (pg's way) → RowDescription of the reply, computed now
          const kind = body.byte();
          const portal = portals.get(body.cstr());
          if (kind !== 'P' || !portal) return failed({ code: '0A000', message: 'pg-responder: only Describe of a bound portal is supported' });
          portal.reply ??= answer(portal.sql, portal.params, session);
          return 'error' in portal.reply ? failed(portal.reply.error) : rowDescription(portal.reply);
        }
        case 'E': {
          // Execute: the rows (no RowDescription: Describe sent it)
          const portal = portals.get(body.cstr());
          if (!portal) return failed({ code: '34000', message: 'portal does not exist' });
          const reply = (portal.reply ??= answer(portal.sql, portal.params, session));
          return 'error' in reply ? failed(reply.error) : rowsAndTag(reply);
        }
        case 'C': // Close statement or portal
          return msg('3');
        case 'H': // Flush: everything is written at once anyway
          return;
        default:
          return failed({ code: '08P01', message: `pg-responder: unsupported message '${type}'` });
      }
    };

    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      // Corked: every answer to this chunk goes out in one write, in order.
      socket.cork();
      try {
        // Startup-phase messages have no type byte; all later ones do.
        while (!socket.writableEnded) {
          const typed = phase !== 'startup';
          const head = typed ? 5 : 4;
          if (pending.length < head) break;
          const total = (typed ? 1 : 0) + pending.readInt32BE(typed ? 1 : 0);
          if (pending.length < total) break;
          const body = new Reader(pending.subarray(head, total));
          const type = typed ? String.fromCharCode(pending[0]!) : '';
          pending = pending.subarray(total);
          if (!typed) startup(body);
          else {
            const reply = handle(type, body);
            if (reply) socket.write(reply);
          }
        }
      } finally {
        socket.uncork();
      }
    });
  });
  server.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    queries,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
