/**
 * Raw daily history CSV, on both store dialects: 50,000 rows with hostile
 * names (commas, quotes, newlines, Chinese, emoji, spreadsheet-formula
 * prefixes) come back exactly, parsed by an RFC 4180 reader; the rows are
 * pulled from the store page by page as the client reads (laziness is
 * observed, heap growth stays small); filters, 404 and 400 behave.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, it } from 'node:test';
import Fastify from 'fastify';
import { exportRoutes } from '../../src/http/api/export.routes.js';
import { buildApp } from '../../src/http/app.js';
import { ExportService, HISTORY_COLUMNS } from '../../src/services/export.service.js';
import { ExportRepository, type HistoryFilter, type HistoryRow } from '../../src/store/export.repository.js';
import { forEachStore, newTestApp, type Caller, type TestApp } from '../helpers/context.js';

// A real gc() so the heap samples measure what is retained, not garbage waiting for collection.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const actor = { userId: null, username: 'test' };
const DAYS = 100;
const PER_DAY = 250; // × 2 instances × 100 days = 50,000 rows
const HOSTILE = ['a,b', 'say "hi"', 'line1\nline2', 'crlf\r\nx', '库存_数据', '🐳 whale', '=HYPERLINK("x")', '+1+1', '-cmd', '@SUM(A1)', '\ttab'];

function dbName(i: number): string {
  return i < HOSTILE.length ? HOSTILE[i]! : `db_${String(i).padStart(4, '0')}`;
}
function day(d: number): string {
  return new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10);
}

/** Strict RFC 4180 reader (CRLF records, quoted fields), for checking the export independently of its writer. */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        assert.ok(q >= 0, 'unterminated quote');
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      const m = /[,\r]/g;
      m.lastIndex = i;
      const hit = m.exec(text);
      const end = hit ? hit.index : text.length;
      field = text.slice(i, end);
      assert.ok(!field.includes('"') && !field.includes('\n'), `bare quote or newline in unquoted field: ${JSON.stringify(field)}`);
      i = end;
    }
    row.push(field);
    if (text[i] === ',') i++;
    else if (text.startsWith('\r\n', i)) {
      out.push(row);
      row = [];
      i += 2;
    } else assert.equal(i, text.length, `unexpected character at ${i}`);
  }
  assert.equal(row.length, 0, 'last record ends with CRLF');
  return out;
}

const expectCell = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);

class CountingRepo extends ExportRepository {
  pages = 0;
  override async page(f: HistoryFilter, a: Parameters<ExportRepository['page']>[1]): Promise<HistoryRow[]> {
    this.pages++;
    return super.page(f, a);
  }
}

forEachStore('raw history CSV export', (get) => {
  let app: TestApp;
  let callers: Record<Caller['role'], Caller>;
  let ids: number[] = [];
  const viewer = () => callers.viewer.headers(false);

  before(async () => {
    const ctx = get();
    app = await buildApp(ctx);
    ({ callers } = await newTestApp(ctx).then(async (r) => {
      await r.app.close();
      return r;
    }));
    await app.ready();
    ids = [];
    for (const name of ['inst,"one"', '实例二']) ids.push((await ctx.instances.create({ name, db_type: 'mysql', host: '10.0.0.1', port: 3306 }, actor)).id);
    const rows = [];
    for (const instance_id of ids)
      for (let d = 0; d < DAYS; d++)
        for (let i = 0; i < PER_DAY; i++)
          rows.push({
            instance_id,
            database_name: dbName(i),
            collected_date: day(d),
            size_bytes: 1_000_000 * i + d,
            data_bytes: i % 7 === 0 ? null : 1000 * i,
            index_bytes: null,
            log_bytes: null,
            free_bytes: null,
            used_bytes: null,
            max_bytes: null,
            method: 'test',
            error: null,
            collected_at: `${day(d)}T03:00:00.000Z`,
            is_deleted: i === 5 && d === DAYS - 1 ? 1 : 0,
            deleted_at: null,
            created_at: `${day(d)}T03:00:00.000Z`,
            updated_at: `${day(d)}T03:00:00.000Z`,
          });
    for (let k = 0; k < rows.length; k += 1000)
      await ctx.store.db
        .insertInto('database_size_stats')
        .values(rows.slice(k, k + 1000))
        .execute();
  });
  after(async () => {
    await app?.close();
  });

  it('streams one instance’s 25,000 rows exactly, hostile names intact', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/instances/${ids[0]}/history.csv`, headers: viewer() });
    assert.equal(r.statusCode, 200, r.body.slice(0, 300));
    assert.match(String(r.headers['content-type']), /^text\/csv; charset=utf-8/);
    assert.equal(r.headers['content-disposition'], `attachment; filename="instance-${ids[0]}-history.csv"`);
    assert.ok(r.body.startsWith('\uFEFF'));
    const table = parseCsv(r.body.slice(1));
    assert.deepEqual(table[0], [...HISTORY_COLUMNS]);
    assert.equal(table.length - 1, DAYS * PER_DAY);
    const byKey = new Map(table.slice(1).map((c) => [`${c[0]}|${c[3]}`, c]));
    assert.equal(byKey.size, DAYS * PER_DAY, 'no row twice');
    for (const i of [...HOSTILE.keys(), 7, 249]) {
      const c = byKey.get(`${day(DAYS - 1)}|${expectCell(dbName(i))}`);
      assert.ok(c, `row of ${JSON.stringify(dbName(i))}`);
      assert.deepEqual(c, [
        day(DAYS - 1),
        String(ids[0]),
        'inst,"one"',
        expectCell(dbName(i)),
        String(1_000_000 * i + DAYS - 1),
        i % 7 === 0 ? '' : String(1000 * i),
        '',
        '',
        '',
        '',
        '',
        i === 5 ? 'true' : 'false',
        `${day(DAYS - 1)}T03:00:00.000Z`,
      ]);
    }
    // Date order first.
    assert.equal(table[1]![0], day(0));
    assert.equal(table.at(-1)![0], day(DAYS - 1));
  });

  it('estate export: 50,000 rows over real HTTP, pulled page by page with a flat heap', async () => {
    const ctx = get();
    const repo = new CountingRepo(ctx.store.db, 1000);
    const f = Fastify();
    await f.register(exportRoutes({ exports: new ExportService(repo, ctx.instances) }));
    await f.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (f.server.address() as AddressInfo).port;
      gc();
      const heap0 = process.memoryUsage().heapUsed;
      let peak = 0;
      let lines = 0;
      let bytes = 0;
      let pagesAtFirstChunk = -1;
      let chunks = 0;
      // A heap sample (after a full gc, ~0.1–0.3 s each) every 256 KB: 16 over the ~4 MB, not one per 100 chunks (500).
      let nextSample = 0;
      await new Promise<void>((resolve, reject) => {
        http
          .get({ port, host: '127.0.0.1', path: '/api/export/database-sizes.csv' }, (res) => {
            assert.equal(res.statusCode, 200);
            res.on('data', (chunk: Buffer) => {
              if (pagesAtFirstChunk < 0) pagesAtFirstChunk = repo.pages;
              bytes += chunk.length;
              for (const b of chunk) if (b === 0x0a) lines++;
              chunks++;
              if (bytes >= nextSample) {
                gc();
                peak = Math.max(peak, process.memoryUsage().heapUsed - heap0);
                nextSample = bytes + 256 * 1024;
              }
            });
            res.on('end', resolve);
            res.on('error', reject);
          })
          .on('error', reject);
      });
      // 2 names hold a newline inside quotes: one extra \n each per day per instance.
      assert.equal(lines, 1 + 2 * DAYS * PER_DAY + 2 * 2 * DAYS);
      assert.equal(repo.pages, Math.ceil((2 * DAYS * PER_DAY + 1) / 1000));
      assert.ok(pagesAtFirstChunk >= 1);
      // The CSV is ~4 MB; building it (plus 50,000 row objects) in memory would cost far more than this.
      assert.ok(bytes > 3_000_000, `${bytes} bytes`);
      assert.ok(chunks >= 100, `${chunks} chunks`);
      assert.ok(peak < 16 * 1024 * 1024, `heap grew ${Math.round(peak / 1048576)} MB`);
    } finally {
      await f.close();
    }
  });

  it('is lazy: the first chunk costs one page, and a client that stops reading stops the queries', async () => {
    const repo = new CountingRepo(get().store.db, 1000);
    const stream = await new ExportService(repo, get().instances).databaseSizes({});
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.ok(String(first.value).startsWith('\uFEFFcollected_date,'));
    // Readable.from reads ahead a little (its highWaterMark), never the whole table.
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(repo.pages <= 2, `${repo.pages} pages fetched for the first chunk`);
    stream.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(repo.pages <= 2, 'no more pages after the client went away');
  });

  it('filters by date range and instance; 404 for an unknown instance; 400 for bad dates; viewer only', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/export/database-sizes.csv?from=${day(10)}&to=${day(11)}&instance_id=${ids[1]}`, headers: viewer() });
    assert.equal(r.statusCode, 200);
    const t = parseCsv(r.body.slice(1));
    assert.equal(t.length - 1, 2 * PER_DAY);
    assert.ok(t.slice(1).every((c) => c[1] === String(ids[1]) && c[2] === '实例二' && (c[0] === day(10) || c[0] === day(11))));
    const h = await app.inject({ method: 'GET', url: `/api/instances/${ids[1]}/history.csv?from=${day(99)}`, headers: viewer() });
    assert.equal(parseCsv(h.body.slice(1)).length - 1, PER_DAY);
    const missing = await app.inject({ method: 'GET', url: '/api/instances/999999/history.csv', headers: viewer() });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error_code, 'not_found');
    const missing2 = await app.inject({ method: 'GET', url: '/api/export/database-sizes.csv?instance_id=999999', headers: viewer() });
    assert.equal(missing2.statusCode, 404);
    for (const q of ['from=2024-13-01', 'from=2024-02-30', `from=${day(5)}&to=${day(1)}`, 'bogus=1']) {
      const bad = await app.inject({ method: 'GET', url: `/api/export/database-sizes.csv?${q}`, headers: viewer() });
      assert.equal(bad.statusCode, 400, q);
      assert.equal(bad.json().success, false);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/api/export/database-sizes.csv' })).statusCode, 401);
  });
});
