/**
 * A tiny SQL Server for tests: speaks just enough TDS 7.4 (MS-TDS) for the
 * REAL mssql/tedious client to log in and run queries, so an engine is tested
 * through the driver's own parsers instead of hand-shaped result objects.
 *
 * What the client sends and what this answers:
 * - PRELOGIN (0x12)  → VERSION + ENCRYPTION = ENCRYPT_NOT_SUP: no TLS, ever.
 * - LOGIN7 (0x10)    → `login` decides: LOGINACK (TDS version big-endian)
 *                      + ENVCHANGEs + DONE, or an ERROR token (e.g. 18456).
 * - SQL_BATCH (0x01) → tedious's initial `set ansi_nulls …` after login.
 * - RPC (0x03)       → `request.query()` and mssql's validation `SELECT 1;`
 *                      arrive as sp_executesql; the SQL is its first NVARCHAR.
 * - ATTENTION (0x06) → (what a client timeout sends) the hung request's own
 *                      response closed with a DONE, then a separate message
 *                      with DONE_ATTN: tedious reads the first as the
 *                      request's reply and only the second as the ack.
 * Every request's SQL is matched against the test's handlers, first match
 * wins. The responder always answers (an unmatched query gets an ERROR token),
 * except for a `'hang'` reply: a client then waits for its request timeout.
 * Ground truth for what tedious accepts: node_modules/tedious/lib/token/*.
 */
import net from 'node:net';

/** The column types the catalog views send: sys.master_files.type is TINYINT, is_sparse BIT, size INT. */
export type SqlType = 'nvarchar' | 'tinyint' | 'smallint' | 'int' | 'bigint' | 'bit' | { decimal: { precision: number; scale: number } };
export interface Column {
  name: string;
  type: SqlType;
}
/** BIGINT and DECIMAL cells may be bigint or decimal strings, so tests can go past 2^53; BIT cells are booleans. */
export type Cell = string | number | bigint | boolean | null;
export interface ResultSet {
  columns: Column[];
  rows: Cell[][];
}
/** An ERROR token as SQL Server sends it (class 14 = permission/login, 16 = general). */
export interface ServerMessage {
  number: number;
  message: string;
  state?: number;
  class?: number;
}
export type Reply = ResultSet[] | { error: ServerMessage } | 'hang';
export interface LoginInfo {
  user: string;
  database: string;
  /** LOGIN7 OptionFlags2 fIntSecurity: set for NTLM/SSPI (tedious `ntlm` authentication). */
  integratedSecurity: boolean;
}
export type Handler = [pattern: RegExp, reply: Reply | ((sql: string, match: RegExpExecArray, login: LoginInfo) => Reply)];

export interface ResponderOptions {
  /** Refuse a login with a message, or accept it with null (the default). The password is de-obfuscated. */
  login?: (login: LoginInfo, password: string) => ServerMessage | null;
  handlers: Handler[];
}
export interface TdsResponder {
  port: number;
  /** Every SQL text received, in order, for assertions. */
  queries: string[];
  logins: LoginInfo[];
  close(): Promise<void>;
}

const PRELOGIN = 0x12,
  LOGIN7 = 0x10,
  SQL_BATCH = 0x01,
  RPC = 0x03,
  ATTENTION = 0x06,
  REPLY = 0x04;
const DONE = 0xfd,
  DONEPROC = 0xfe,
  DONEINPROC = 0xff;
const DONE_MORE = 0x01,
  DONE_ERROR = 0x02,
  DONE_COUNT = 0x10,
  DONE_ATTN = 0x20;
const PACKET_SIZE = 4096;
/** SQL_Latin1_General_CP1_CI_AS, as the 5 bytes of a TDS collation. */
const COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

/** Defaults every tedious/mssql session needs; a test's handlers come first and may override them. */
const DEFAULTS: Handler[] = [
  [/^\s*set\s+ansi_nulls/i, []],
  [/^\s*SELECT 1;?\s*$/i, [{ columns: [{ name: '', type: 'int' }], rows: [[1]] }]],
];

// ---- encoding helpers (all little-endian unless the spec says otherwise) ----
const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16LE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};
const i64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b;
};
const ucs2 = (s: string) => Buffer.from(s, 'ucs2');
/** B_VARCHAR: 1-byte character count + UCS-2. */
const bVarchar = (s: string) => Buffer.concat([u8(s.length), ucs2(s)]);
/** US_VARCHAR: 2-byte character count + UCS-2. */
const usVarchar = (s: string) => Buffer.concat([u16(s.length), ucs2(s)]);
/** A token with a 2-byte length prefix after its type byte. */
const withLength = (type: number, body: Buffer) => Buffer.concat([u8(type), u16(body.length), body]);

function doneToken(type: number, status: number, rowCount = 0): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt8(type, 0);
  b.writeUInt16LE(status, 1);
  b.writeUInt16LE(0xc1, 3); // CurCmd: SELECT
  b.writeBigUInt64LE(BigInt(rowCount), 5);
  return b;
}

function errorToken(m: ServerMessage): Buffer {
  const body = Buffer.concat([u32(m.number), u8(m.state ?? 1), u8(m.class ?? 16), usVarchar(m.message), bVarchar('tds-responder'), bVarchar(''), u32(1)]);
  return withLength(0xaa, body);
}

/** ENVCHANGE with B_VARCHAR values (database = 1, packet size = 4) or B_VARBYTE (collation = 7). */
function envChange(type: number, value: string | Buffer): Buffer {
  const v = typeof value === 'string' ? Buffer.concat([bVarchar(value), bVarchar('')]) : Buffer.concat([u8(value.length), value, u8(0)]);
  return withLength(0xe3, Buffer.concat([u8(type), v]));
}

const INT_LENGTH = { tinyint: 1, smallint: 2, int: 4, bigint: 8 } as const;

/** DECIMAL/NUMERIC storage size by precision (MS-TDS 2.2.5.5.1.6). */
const decimalLength = (p: number) => (p <= 9 ? 5 : p <= 19 ? 9 : p <= 28 ? 13 : 17);

function typeInfo(t: SqlType): Buffer {
  if (t === 'nvarchar') return Buffer.concat([u8(0xe7), u16(8000), COLLATION]); // nvarchar(4000)
  if (t === 'tinyint' || t === 'smallint' || t === 'int' || t === 'bigint') return Buffer.from([0x26, INT_LENGTH[t]]); // INTN
  if (t === 'bit') return Buffer.from([0x68, 1]); // BITN
  return Buffer.from([0x6a, decimalLength(t.decimal.precision), t.decimal.precision, t.decimal.scale]); // DECIMALN
}

/** A decimal cell's unscaled integer: "12.5" at scale 2 → 1250n. Exact: no float on the way. */
function unscaled(value: Exclude<Cell, null>, scale: number): bigint {
  const [int = '0', frac = ''] = String(value).split('.');
  const negative = int.startsWith('-');
  const digits = BigInt(`${int.replace('-', '')}${frac.padEnd(scale, '0').slice(0, scale)}`);
  return negative ? -digits : digits;
}

function cell(t: SqlType, v: Cell): Buffer {
  if (t === 'nvarchar') return v === null ? u16(0xffff) : Buffer.concat([u16(ucs2(String(v)).length), ucs2(String(v))]);
  if (v === null) return u8(0); // INTN, BITN and DECIMALN: zero length is NULL
  if (t === 'bit') return Buffer.concat([u8(1), u8(v === true || v === 1 ? 1 : 0)]);
  if (t === 'tinyint') return Buffer.concat([u8(1), u8(Number(v))]);
  if (t === 'smallint') return Buffer.concat([u8(2), i16(Number(v))]);
  if (t === 'int') return Buffer.concat([u8(4), i32(Number(v))]);
  if (t === 'bigint') return Buffer.concat([u8(8), i64(BigInt(v))]);
  // DECIMALN value: length, sign (1 = positive), magnitude little-endian in length-1 bytes.
  const n = unscaled(v, t.decimal.scale);
  const magnitude = Buffer.alloc(decimalLength(t.decimal.precision) - 1);
  let rest = n < 0n ? -n : n;
  for (let i = 0; i < magnitude.length; i++, rest >>= 8n) magnitude[i] = Number(rest & 0xffn);
  return Buffer.concat([u8(magnitude.length + 1), u8(n < 0n ? 0 : 1), magnitude]);
}

/** COLMETADATA + ROWs for one result set; the DONE token after it is the caller's (it differs for RPC). */
function resultSet(rs: ResultSet): Buffer {
  const meta = rs.columns.map((c) => Buffer.concat([u32(0), u16(0x0001 /* nullable */), typeInfo(c.type), bVarchar(c.name)]));
  const rows = rs.rows.map((r) => Buffer.concat([u8(0xd1), ...rs.columns.map((c, i) => cell(c.type, r[i] ?? null))]));
  return Buffer.concat([u8(0x81), u16(rs.columns.length), ...meta, ...rows]);
}

/** A whole reply message: results or an error, closed as a batch (DONE) or an RPC (DONEINPROC … DONEPROC). */
function replyTokens(reply: Exclude<Reply, 'hang'>, rpc: boolean): Buffer {
  if ('error' in reply) return Buffer.concat([errorToken(reply.error), doneToken(rpc ? DONEPROC : DONE, DONE_ERROR)]);
  const parts: Buffer[] = reply.map((rs, i) => {
    const last = i === reply.length - 1 && !rpc;
    return Buffer.concat([resultSet(rs), doneToken(rpc ? DONEINPROC : DONE, DONE_COUNT | (last ? 0 : DONE_MORE), rs.rows.length)]);
  });
  if (rpc)
    parts.push(Buffer.concat([u8(0x79), u32(0)]), doneToken(DONEPROC, 0)); // RETURNSTATUS 0
  else if (reply.length === 0) parts.push(doneToken(DONE, 0));
  return Buffer.concat(parts);
}

// ---- request decoding ----

/** LOGIN7: offset/length pairs (in characters) at fixed places; the password is nibble-swapped and XORed with 0xA5. */
function parseLogin7(p: Buffer): { login: LoginInfo; password: string } {
  const field = (at: number) => p.subarray(p.readUInt16LE(at), p.readUInt16LE(at) + p.readUInt16LE(at + 2) * 2);
  const pw = Buffer.from(
    field(44).map((b) => {
      const x = b ^ 0xa5;
      return ((x & 0x0f) << 4) | (x >> 4);
    }),
  );
  return {
    login: { user: field(40).toString('ucs2'), database: field(68).toString('ucs2'), integratedSecurity: (p.readUInt8(25) & 0x80) !== 0 },
    password: pw.toString('ucs2'),
  };
}

/** SQL text of a SQL_BATCH (after ALL_HEADERS) or of an RPC's first NVARCHAR parameter (`@statement`). */
function sqlText(type: number, p: Buffer): string {
  let at = p.readUInt32LE(0); // ALL_HEADERS total length, itself included
  if (type === SQL_BATCH) return p.subarray(at).toString('ucs2');
  at += p.readUInt16LE(at) === 0xffff ? 4 : 2 + p.readUInt16LE(at) * 2; // ProcID (sp_executesql = 10) or name
  at += 2; // OptionFlags
  at += 1 + p.readUInt8(at) * 2 + 1; // parameter name, StatusFlags
  const maxLen = p.readUInt16LE(at + 1); // TYPE_INFO: 0xE7, max length, collation
  at += 8;
  if (maxLen !== 0xffff) return p.subarray(at + 2, at + 2 + p.readUInt16LE(at)).toString('ucs2');
  // nvarchar(max) (SQL over 4000 characters): PLP — 8-byte total, then chunks until a zero length.
  const chunks: Buffer[] = [];
  for (at += 8; p.readUInt32LE(at) > 0; at += 4 + p.readUInt32LE(at)) chunks.push(p.subarray(at + 4, at + 4 + p.readUInt32LE(at)));
  return Buffer.concat(chunks).toString('ucs2');
}

/** PRELOGIN reply: option table (token, offset BE, length BE), terminator, then the option data. */
function preloginReply(): Buffer {
  const version = Buffer.from([16, 0, 0x10, 0x27, 0, 0]); // 16.0.4135
  const header = Buffer.alloc(11);
  header.writeUInt8(0x00, 0); // VERSION at 11, 6 bytes
  header.writeUInt16BE(11, 1);
  header.writeUInt16BE(version.length, 3);
  header.writeUInt8(0x01, 5); // ENCRYPTION after it, 1 byte
  header.writeUInt16BE(11 + version.length, 6);
  header.writeUInt16BE(1, 8);
  header.writeUInt8(0xff, 10); // TERMINATOR
  return Buffer.concat([header, version, u8(0x02 /* ENCRYPT_NOT_SUP */)]);
}

function loginAck(database: string): Buffer {
  const ack = Buffer.concat([
    u8(1 /* SQL_TSQL */),
    Buffer.from([0x74, 0x00, 0x00, 0x04]) /* TDS 7.4, big-endian */,
    bVarchar('Microsoft SQL Server'),
    Buffer.from([16, 0, 0x10, 0x27]),
  ]);
  return Buffer.concat([envChange(1, database), envChange(7, COLLATION), withLength(0xad, ack), envChange(4, String(PACKET_SIZE)), doneToken(DONE, 0)]);
}

/** Split a message into packets of at most PACKET_SIZE bytes; the last one carries EOM (status 0x01). */
function send(socket: net.Socket, payload: Buffer): void {
  let [offset, id] = [0, 1];
  do {
    const body = payload.subarray(offset, offset + PACKET_SIZE - 8);
    offset += body.length;
    const header = Buffer.from([REPLY, offset >= payload.length ? 1 : 0, 0, 0, 0, 0, id++ & 0xff, 0]);
    header.writeUInt16BE(body.length + 8, 2);
    socket.write(Buffer.concat([header, body]));
  } while (offset < payload.length);
}

export async function startTdsResponder(options: ResponderOptions): Promise<TdsResponder> {
  const queries: string[] = [];
  const logins: LoginInfo[] = [];
  const sockets = new Set<net.Socket>();
  const handlers = [...options.handlers, ...DEFAULTS];

  const answer = (sql: string, login: LoginInfo): Reply => {
    for (const [pattern, reply] of handlers) {
      const m = pattern.exec(sql);
      if (m) return typeof reply === 'function' ? reply(sql, m, login) : reply;
    }
    return { error: { number: 50000, class: 16, message: `tds-responder: no handler for: ${sql}` } };
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    let message: Buffer[] = [];
    let login: LoginInfo = { user: '', database: '', integratedSecurity: false };
    let hung = false;

    const onMessage = (type: number, payload: Buffer) => {
      if (type === PRELOGIN) return send(socket, preloginReply());
      if (type === ATTENTION) {
        if (hung) send(socket, doneToken(DONE, 0));
        hung = false;
        return send(socket, doneToken(DONE, DONE_ATTN));
      }
      if (type === LOGIN7) {
        const parsed = parseLogin7(payload);
        login = { ...parsed.login, database: parsed.login.database || 'master' };
        logins.push(login);
        const refusal = options.login?.(login, parsed.password) ?? null;
        return send(socket, refusal ? Buffer.concat([errorToken({ class: 14, ...refusal }), doneToken(DONE, DONE_ERROR)]) : loginAck(login.database));
      }
      if (type !== SQL_BATCH && type !== RPC)
        return send(socket, replyTokens({ error: { number: 50000, message: `tds-responder: packet type ${type}` } }, false));
      const sql = sqlText(type, payload);
      queries.push(sql);
      const reply = answer(sql, login);
      hung = reply === 'hang';
      if (reply !== 'hang') send(socket, replyTokens(reply, type === RPC));
    };

    // Packet header: type, status (0x01 = end of message), length (big-endian, header included), spid, id, window.
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8 && pending.length >= pending.readUInt16BE(2)) {
        const length = pending.readUInt16BE(2);
        const [type, status] = [pending.readUInt8(0), pending.readUInt8(1)];
        message.push(pending.subarray(8, length));
        pending = pending.subarray(length);
        if (status & 0x01) {
          const payload = Buffer.concat(message);
          message = [];
          onMessage(type, payload);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    queries,
    logins,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
