/**
 * Where the web layer's files are, whether the server runs compiled
 * (`dist/http/pages/…`, `npm start`, the installed package) or from the sources
 * through tsx (tests, `npm run whalefall`): paths are taken relative to this
 * module, so both layouts resolve the same way.
 *
 *   <root>/dist/bundle/          the browser bundle (`npm run build`, esbuild; dist/client/shared is tsc's)
 *   <root>/{src,dist}/http/pages/views  eta templates (copied into dist by the build)
 *   <root>/{src,dist}/http/pages/static stylesheets (copied likewise)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository (or the installed package): three levels above src/http/pages or dist/http/pages. */
export const REPO_ROOT = path.resolve(HERE, '../../..');
/** The browser bundle; served, never written, by the server. */
export const DIST_DIR = path.join(REPO_ROOT, 'dist', 'bundle');
export const VIEWS_DIR = path.join(HERE, 'views');
export const CSS_DIR = path.join(HERE, 'static');
/** True under tsx (this file is the .ts source): a development or test run, in a writable checkout. */
export const FROM_SOURCES = import.meta.url.endsWith('.ts');
