/**
 * The browser bundle: src/web/client/*.page.ts → dist/client/*.js (ESM, code
 * split, minified), built by esbuild. `ensureClientBuilt()` runs when the web
 * pages are registered, so `npm start` and `npm test` on a clean clone need
 * no separate build step; it rebuilds only when a client source (or the
 * dictionary, or a shared lib it imports) differs from the last build's
 * (a content hash kept in dist/client/built.json — not mtimes, which npm pack
 * flattens, so an installed package serves its packed bundle as it is).
 * `npm run build` builds explicitly and prints the gzip sizes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Metafile } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '../..');
export const CLIENT_DIR = path.join(HERE, 'client');
export const DIST_DIR = path.join(REPO_ROOT, 'dist', 'client');
/** Sources that end up in the bundle besides client/: a change there rebuilds it too. */
const WATCHED = [CLIENT_DIR, path.join(HERE, 'i18n'), path.join(HERE, 'format.ts'), path.join(REPO_ROOT, 'src/lib/sizes.ts')];
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

// `npm run build`: build now and print what the browser downloads.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildClient();
  for (const f of files.sort((a, b) => b.bytes - a.bytes)) {
    console.log(`${f.file.padEnd(40)} ${String(f.bytes).padStart(8)} B  gzip ${String(f.gzipBytes).padStart(7)} B${f.charts ? '  (charts: ECharts)' : ''}`);
  }
}
