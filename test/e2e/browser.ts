/**
 * E2E helpers: the real app (buildApp on port 0 with a temp SQLite store),
 * Debian's chromium through playwright-core (headless), and the collection
 * of everything that must not happen: console errors, failed requests, CSP
 * violations, uncaught page errors. Screenshots go to test-output/screenshots/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildApp } from '../../src/http/app.js';
import type { Clock } from '../../src/lib/clock.js';
import type { ContextOptions } from '../../src/context.js';
import { newTestContext, type TestContext } from '../helpers/context.js';

export const CHROMIUM = process.env.WHALEFALL_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.resolve('test-output/screenshots');

export interface Server {
  ctx: TestContext;
  url: string;
  close(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}, opts: { clock?: Clock; engineFor?: ContextOptions['engineFor'] } = {}): Promise<Server> {
  const ctx = await newTestContext('sqlite', {
    env: { WHALEFALL_LOGIN_RATE_LIMIT: '1000', LOG_LEVEL: 'warn', ...env },
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.engineFor ? { engineFor: opts.engineFor } : {}),
  });
  const app = await buildApp(ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    ctx,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await ctx.cleanup();
    },
  };
}

export interface Session {
  browser: Browser;
  newPage(opts?: { width?: number; height?: number; locale?: string }): Promise<Page>;
  /** Everything that went wrong in any page so far (must end empty). */
  problems: string[];
  close(): Promise<void>;
}

export async function openBrowser(baseURL: string): Promise<Session> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];
  return {
    browser,
    problems,
    async newPage(opts = {}) {
      const context = await browser.newContext({
        baseURL,
        viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
        locale: opts.locale ?? 'zh-CN',
      });
      contexts.push(context);
      const page = await context.newPage();
      // CSP violations are reported to the page as events: record them from inside.
      await page.addInitScript({
        content:
          "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));",
      });
      page.on('console', (m) => {
        // An API call answered 4xx on purpose logs "Failed to load resource"; the response hook below judges HTTP statuses.
        if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()))
          problems.push(`console error on ${page.url()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
      // A request the browser aborted because the page navigated away meanwhile is not a failure; any other is.
      let navigations = 0;
      const navAtStart = new WeakMap<object, number>();
      page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) navigations++;
      });
      page.on('request', (r) => navAtStart.set(r, navigations));
      page.on('requestfailed', (r) => {
        const why = r.failure()?.errorText ?? '';
        const problem = `request failed: ${r.method()} ${r.url()} ${why}`;
        if (why !== 'net::ERR_ABORTED' || r.method() !== 'GET') return void problems.push(problem);
        // The abort can be reported just before the navigation that caused it commits: decide a moment later.
        const started = navAtStart.get(r) ?? navigations;
        setTimeout(() => {
          if (navigations === started) problems.push(problem);
        }, 500).unref();
      });
      page.on('response', (r) => {
        // 4xx answers the tests provoke on purpose are API calls; a static file or page must never fail.
        if (
          r.status() >= 500 ||
          (r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/api/') && !new URL(r.url()).pathname.startsWith('/database-sizes/'))
        ) {
          problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
        }
      });
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
    },
  };
}

export async function login(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.fill('#wf-username', username);
  await page.fill('#wf-password', password);
  await Promise.all([page.waitForURL('**/instances'), page.click('#wf-login-submit')]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
