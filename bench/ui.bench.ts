/**
 * ui: the instances page in the headless Debian chromium (playwright-core)
 * against a real server (SQLite store) holding 1,000 instances: time from
 * navigation to the rows shown (the page's own API call included), at the
 * default 50 rows a page and at the largest page size (200); plus the gzip
 * size of the chart bundle (ECharts, tree-shaken) and of the other bundles.
 * No baseline of the seed exists for a browser page: the floor given is the
 * instance-list API call alone, timed from the same browser.
 */
import { buildClient } from '../src/http/pages/build.js';
import { login, openBrowser, startServer } from '../test/e2e/browser.js';
import { envInt, median } from './common.js';
import type { Cell, Report, Scenario } from './common.js';

const actor = { userId: null, username: 'bench' };
const ADMIN = { username: 'bench-admin', password: 'Bench-admin-pass1' };
const TARGET_MS = 1000;

export const ui: Scenario = {
  summary:
    'Instances page with 1,000 instances in headless chromium: navigation → rows shown at 50 and 200 rows a page (median of several), against the list API call alone; gzip size of the client bundles.',
  env: ['BENCH_UI_INSTANCES', 'BENCH_UI_RUNS'],
  async run(): Promise<Report> {
    const n = envInt('BENCH_UI_INSTANCES', 1000);
    const runs = envInt('BENCH_UI_RUNS', 7);
    const built = await buildClient();
    const server = await startServer();
    const session = await openBrowser(server.url);
    try {
      await server.ctx.auth.createUser({ ...ADMIN, role: 'admin' }, actor);
      let csv = 'name,db_type,host,port,tags\n';
      for (let i = 0; i < n; i++) csv += `bench-${String(i).padStart(5, '0')},postgresql,db${i}.example.internal,5432,env:bench\n`;
      const imported = await server.ctx.fleet.import(csv, { format: 'csv' }, actor);
      if (imported.created !== n) throw new Error(`import created ${imported.created} of ${n}`);

      const page = await session.newPage();
      await login(page, ADMIN.username, ADMIN.password);
      const rowsShown = async (count: number) => page.waitForSelector(`#wf-rows tr:nth-child(${count})`, { timeout: 30_000 });
      const nav50: number[] = [];
      const size200: number[] = [];
      const api: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await page.goto('/instances');
        await rowsShown(50);
        nav50.push(performance.now() - t0);
        const t1 = performance.now();
        await page.selectOption('#wf-page-size', '200');
        await rowsShown(200);
        size200.push(performance.now() - t1);
        api.push(
          await page.evaluate(async () => {
            const s = performance.now();
            const r = await fetch('/api/instances/overview?sort=name&dir=asc&limit=200&offset=0');
            await r.json();
            return performance.now() - s;
          }),
        );
      }
      const rows: Cell[][] = [
        ['list API call alone (200 rows, floor)', median(api).toFixed(0), ''],
        ['navigation → 50 rows shown (default page)', median(nav50).toFixed(0), median(nav50) < TARGET_MS ? 'yes' : 'NO'],
        ['page size 200 → 200 rows shown', median(size200).toFixed(0), median(size200) < TARGET_MS ? 'yes' : 'NO'],
      ];
      const charts = built.filter((b) => b.charts);
      const others = built.filter((b) => !b.charts && b.file.endsWith('.js'));
      const kb = (x: number) => (x / 1024).toFixed(1);
      return {
        servers: {},
        parameters: { instances: n, runs, viewport: '1440×900', browser: '/usr/bin/chromium (headless)' },
        columns: ['measure', 'median ms', `< ${TARGET_MS} ms`],
        rows,
        notes: [
          `Runs in ms — navigation: ${nav50.map((x) => x.toFixed(0)).join(', ')}; page size 200: ${size200.map((x) => x.toFixed(0)).join(', ')}.`,
          `Chart bundle (tree-shaken ECharts): ${charts.map((b) => `${b.file} ${kb(b.bytes)} KB, ${kb(b.gzipBytes)} KB gzip`).join('; ')}.`,
          `Other bundles: ${others.map((b) => `${b.file} ${kb(b.gzipBytes)} KB gzip`).join('; ')}.`,
          `Problems the browser reported during the run (console errors, failed requests, CSP): ${session.problems.length === 0 ? 'none' : session.problems.join(' | ')}.`,
        ],
        failed: session.problems.length > 0,
      };
    } finally {
      await session.close();
      await server.close();
    }
  },
};
