/**
 * Reading an import file without blocking the event loop: the parse runs in a worker thread (its heap bounded,
 * so a hostile file ends the worker, not the service), and the rows come back only when there are at most
 * `maxRows` of them. From dist/ the worker is plain `.js`. From the sources (tsx, `.ts`: the tests) the worker and
 * what it imports are bundled by esbuild once per process into one script the worker evaluates without a loader:
 * registering tsx in each worker cost ~0.2 s of CPU and ~0.3 s per import file, several minutes over the tests.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError } from '../lib/errors.js';
import { bundleWorker } from '../lib/worker-bundle.js';
import type { FleetFormat, ImportError, Parsed, SourceRow } from './fleet-file.js';
import { msg } from '../client/shared/i18n/index.js';

const EXT = path.extname(new URL(import.meta.url).pathname);
const WORKER = new URL(`./fleet-parse.worker${EXT}`, import.meta.url);
/** The worker's heap: a maximal accepted file (20,000 rows, ~10 MiB) parses in well under this. */
const WORKER_HEAP_MB = 512;

let bundled: Promise<string> | undefined;
/** The worker from the sources as one CommonJS script, its packages bundled in (`bundleWorker`). */
function bundledWorker(): Promise<string> {
  bundled ??= bundleWorker(WORKER);
  return bundled;
}

async function startWorker(workerData: unknown): Promise<Worker> {
  const resourceLimits = { maxOldGenerationSizeMb: WORKER_HEAP_MB };
  if (EXT !== '.ts') return new Worker(WORKER, { workerData, resourceLimits });
  // No execArgv: the test runner's `--import tsx` would register tsx in the worker all the same.
  return new Worker(await bundledWorker(), { eval: true, workerData, resourceLimits, execArgv: [] });
}

/** The file's rows, parsed in a worker thread; a file with more than `maxRows` rows is refused (AppError validation). */
export async function parseFleetFile(text: string, format: FleetFormat, maxRows: number): Promise<Parsed> {
  const w = await startWorker({ text, format, maxRows });
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void w.terminate();
    };
    const rows: SourceRow[] = [];
    w.on('message', (m: { rows: SourceRow[] } | { fileErrors: ImportError[] } | { tooMany: number }) => {
      if ('rows' in m) {
        rows.push(...m.rows);
        setImmediate(() => w.postMessage('next')); // after the I/O that waited behind this slice
      } else if ('fileErrors' in m) done(() => resolve({ rows, fileErrors: m.fileErrors }));
      else {
        done(() => reject(new AppError('validation', msg('api.import_too_many_rows', { rows: m.tooMany, max: maxRows }))));
      }
    });
    w.once('error', (err) =>
      done(() =>
        reject(
          (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? new AppError('validation', msg('api.import_too_large', { max: maxRows })) : err,
        ),
      ),
    );
    w.once('exit', (code) => done(() => reject(new Error(`import parser exited with code ${code}`))));
  });
}
