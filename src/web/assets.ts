/**
 * Where the web layer's files are, whether the server runs compiled
 * (`dist/web/…`, `npm start`, the installed package) or from the sources
 * through tsx (tests, `npm run whalefall`): paths are taken relative to this
 * module, so both layouts resolve the same way.
 *
 *   <root>/dist/client/          the browser bundle (`npm run build`, esbuild)
 *   <root>/{src,dist}/web/views  eta templates (copied into dist by the build)
 *   <root>/{src,dist}/web/static stylesheets (copied likewise)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository (or the installed package): two levels above src/web or dist/web. */
export const REPO_ROOT = path.resolve(HERE, '../..');
/** The browser bundle; served, never written, by the server. */
export const DIST_DIR = path.join(REPO_ROOT, 'dist', 'client');
export const VIEWS_DIR = path.join(HERE, 'views');
export const CSS_DIR = path.join(HERE, 'static');
/** True under tsx (this file is the .ts source): a development or test run, in a writable checkout. */
export const FROM_SOURCES = import.meta.url.endsWith('.ts');
