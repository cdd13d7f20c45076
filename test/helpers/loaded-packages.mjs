// Preload (`node --import ./test/helpers/loaded-packages.mjs …`): at exit, writes the names of every package the process
// loaded — CommonJS from require.cache, ECMAScript modules as their resolved URLs pass the resolve hook — as JSON to the
// file named by WF_LOADED_PACKAGES_FILE: `{ main, threads }`, the main thread's and its worker threads' (the collector
// thread runs the drivers). A worker thread inherits the preload with the process's flags and tells the main thread
// what it has loaded every 20 ms (a thread stopped at exit runs no exit handler of its own). For the tests that check
// what a start does not load.
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import { BroadcastChannel, MessageChannel, isMainThread } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const out = process.env.WF_LOADED_PACKAGES_FILE;
const esm = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => esm.add(url));
port1.unref();
register('./loaded-packages.hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });

const packageOf = (file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
const loaded = () => [...new Set([...Object.keys(require.cache), ...esm].map(packageOf).filter(Boolean))].sort();
const channel = new BroadcastChannel('wf-loaded-packages');
channel.unref();
if (!isMainThread) setInterval(() => channel.postMessage(loaded()), 20).unref();
else {
  const threads = new Set();
  channel.onmessage = (e) => e.data.forEach((name) => threads.add(name));
  process.on('exit', () => {
    if (out) fs.writeFileSync(out, JSON.stringify({ main: loaded(), threads: [...threads].sort() }));
  });
}
