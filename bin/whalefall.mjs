#!/usr/bin/env node
// The `whalefall` command: the compiled server in dist/ (made by `npm run build`, which `npm ci` runs).
import fs from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!fs.existsSync(main)) {
  process.stderr.write('whalefall: dist/ is missing: run `npm run build` (or `npm ci`, which builds)\n');
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(main.href);
