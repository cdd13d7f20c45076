/**
 * The fleet file parsed off the main thread (see fleet-parse.ts): a 20,000-row YAML file takes seconds of
 * synchronous work in the `yaml` library, which on the main thread would stall every request and /healthz.
 * The rows go back in slices, the next one when the main thread asks for it (a port delivers every queued message
 * in one go: one whole 20,000-row message, or 200 slices sent at once, cost the main thread over a second of
 * deserialising), then `{ fileErrors }`; or only `{ tooMany: n }` when there are too many rows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseCsvFile, parseYamlFile, type FleetFormat } from './fleet-file.js';

const SLICE = 100;
const { text, format, maxRows } = workerData as { text: string; format: FleetFormat; maxRows: number };
const parsed = format === 'csv' ? parseCsvFile(text) : parseYamlFile(text);
if (parsed.rows.length > maxRows) parentPort!.postMessage({ tooMany: parsed.rows.length });
else {
  let next = 0;
  const send = () => {
    if (next >= parsed.rows.length) {
      parentPort!.postMessage({ fileErrors: parsed.fileErrors });
      return;
    }
    parentPort!.postMessage({ rows: parsed.rows.slice(next, next + SLICE) });
    next += SLICE;
  };
  parentPort!.on('message', send); // 'next'
  send();
}
