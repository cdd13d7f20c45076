/**
 * The browser bundle: src/client/*.page.ts → dist/bundle/*.js (ESM, code
 * split, minified), built by esbuild, and the server's templates and
 * stylesheets copied beside the compiled server (dist/http/pages/). Run by
 * `npm run build` (which `npm ci` runs through `prepare`, and `npm pack`
 * too): the compiled server never builds. Under tsx (tests, development)
 * `ensureClientBuilt()` rebuilds the bundle when a client source (or the
 * dictionary, or a shared lib it imports) differs from the last build's (a
 * content hash kept in dist/bundle/built.json, not mtimes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Metafile } from 'esbuild';

import { DIST_DIR, REPO_ROOT } from './assets.js';

export { DIST_DIR, REPO_ROOT };
const PAGES_SRC = path.join(REPO_ROOT, 'src', 'http', 'pages');
/** The browser code, its shared/ folder (dictionary, formatting, API types) included. */
export const CLIENT_DIR = path.join(REPO_ROOT, 'src', 'client');
/** Sources that end up in the bundle besides src/client/: a change there rebuilds it too. */
const WATCHED = [CLIENT_DIR, path.join(REPO_ROOT, 'src/lib')];
const STAMP = 'built.json';

export interface BuiltFile {
  file: string;
  bytes: number;
  gzipBytes: number;
  /** True when the file carries ECharts code (the chart bundle). */
  charts: boolean;
}

/** One hash over every watched source file (path and content), in a stable order. */
function sourcesHash(): string {
  const h = createHash('sha256');
  const walk = (p: string): void => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const f of fs.readdirSync(p).sort()) walk(path.join(p, f));
      return;
    }
    h.update(path.relative(REPO_ROOT, p)).update('\0').update(fs.readFileSync(p)).update('\0');
  };
  for (const w of WATCHED) walk(w);
  return h.digest('hex');
}

function builtHash(): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(DIST_DIR, STAMP), 'utf8')) as { sources?: string }).sources;
  } catch {
    return undefined;
  }
}

function entryPoints(): string[] {
  return fs
    .readdirSync(CLIENT_DIR)
    .filter((f) => f.endsWith('.page.ts'))
    .map((f) => path.join(CLIENT_DIR, f));
}

/** Build every page entry into DIST_DIR; written to a temp dir and swapped in, so a reader never sees half a build. */
export async function buildClient(): Promise<BuiltFile[]> {
  const tmp = `${DIST_DIR}.tmp-${process.pid}-${Date.now()}`;
  // Loaded only when a build is needed: a server with an up-to-date bundle never loads esbuild.
  const { build } = await import('esbuild');
  const sources = sourcesHash();
  const r = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: entryPoints(),
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    target: ['es2020'],
    minify: true,
    sourcemap: false,
    metafile: true,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    legalComments: 'none',
    logLevel: 'silent',
  });
  fs.writeFileSync(path.join(tmp, STAMP), JSON.stringify({ sources, built_at: new Date().toISOString() }));
  fs.mkdirSync(path.dirname(DIST_DIR), { recursive: true });
  const old = `${DIST_DIR}.old-${process.pid}-${Date.now()}`;
  if (fs.existsSync(DIST_DIR)) fs.renameSync(DIST_DIR, old);
  fs.renameSync(tmp, DIST_DIR);
  fs.rmSync(old, { recursive: true, force: true });
  return describe(r.metafile, tmp);
}

function describe(meta: Metafile, tmp: string): BuiltFile[] {
  return Object.entries(meta.outputs).map(([out, o]) => {
    const rel = path.relative(tmp, path.resolve(REPO_ROOT, out));
    const buf = fs.readFileSync(path.join(DIST_DIR, rel));
    return { file: rel, bytes: buf.length, gzipBytes: gzipSync(buf).length, charts: Object.keys(o.inputs).some((i) => i.includes('node_modules/echarts/')) };
  });
}

let pending: Promise<void> | undefined;

/** Build once per process when the output is missing or was built from other sources. */
export function ensureClientBuilt(): Promise<void> {
  pending ??= (async () => {
    if (builtHash() === sourcesHash()) return;
    await buildClient();
  })();
  return pending;
}

/** The templates and stylesheets the compiled server reads, copied from src/http/pages into dist/http/pages. */
export function copyServerAssets(): void {
  for (const dir of ['views', 'static']) {
    const to = path.join(REPO_ROOT, 'dist', 'http', 'pages', dir);
    fs.rmSync(to, { recursive: true, force: true });
    fs.cpSync(path.join(PAGES_SRC, dir), to, { recursive: true });
  }
}

// `npm run build` (after tsc): build the bundle, copy the assets, print what the browser downloads.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  copyServerAssets();
  const files = await buildClient();
  for (const f of files.sort((a, b) => b.bytes - a.bytes)) {
    console.log(`${f.file.padEnd(40)} ${String(f.bytes).padStart(8)} B  gzip ${String(f.gzipBytes).padStart(7)} B${f.charts ? '  (charts: ECharts)' : ''}`);
  }
}
