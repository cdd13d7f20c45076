// Preload (`node --import ./test/helpers/loaded-packages.mjs …`): at exit, writes the names of every package the process
// loaded — CommonJS from require.cache, ECMAScript modules as their resolved URLs pass the resolve hook — as a JSON
// array to the file named by WF_LOADED_PACKAGES_FILE. For the tests that check what a start does not load.
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const out = process.env.WF_LOADED_PACKAGES_FILE;
const esm = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => esm.add(url));
port1.unref();
register('./loaded-packages.hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });

const packageOf = (file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
process.on('exit', () => {
  if (!out) return;
  const names = new Set([...Object.keys(require.cache), ...esm].map(packageOf).filter(Boolean));
  fs.writeFileSync(out, JSON.stringify([...names].sort()));
});
