/**
 * A worker thread's script from the TypeScript sources (tsx: the tests, `npm run whalefall`), where Node cannot load
 * the `.ts` file itself: esbuild bundles it once into one CommonJS script the worker evaluates (`eval: true`)
 * without a loader — registering tsx in each worker cost ~0.2 s of CPU and ~0.3 s of wall time. From dist/ the
 * workers are plain `.js` files and this is never reached (esbuild is a dev dependency).
 *
 * `packages: 'external'` leaves the npm packages to `require` (resolved from the entry's folder) instead of
 * bundling them: for a worker that loads database drivers, one of them native. `import.meta.url` is the entry's
 * own (what `createRequire(import.meta.url)` and `lazyModule` resolve from).
 */
import { fileURLToPath } from 'node:url';

export async function bundleWorker(entry: URL, o: { packages?: 'external' } = {}): Promise<string> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    ...(o.packages ? { packages: o.packages, define: { 'import.meta.url': JSON.stringify(entry.href) } } : {}),
  });
  const text = out.outputFiles[0]!.text;
  if (!o.packages) return text;
  // An evaluated script's `require` resolves from the working directory: from the entry's folder instead.
  return `(function (require) {\n${text}\n})(require('node:module').createRequire(${JSON.stringify(entry.href)}));`;
}
