/**
 * Reading an import file without blocking the event loop: the parse runs in a worker thread (its heap bounded,
 * so a hostile file ends the worker, not the service), and the rows come back only when there are at most
 * `maxRows` of them. From the sources (tsx, `.ts`) the worker first registers tsx; from dist/ it is plain `.js`.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError } from '../lib/errors.js';
import type { FleetFormat, ImportError, Parsed, SourceRow } from './fleet-file.js';
import { msg } from '../client/shared/i18n/index.js';

const EXT = path.extname(new URL(import.meta.url).pathname);
const WORKER = new URL(`./fleet-parse.worker${EXT}`, import.meta.url);
/** The worker's heap: a maximal accepted file (20,000 rows, ~10 MiB) parses in well under this. */
const WORKER_HEAP_MB = 512;

function startWorker(workerData: unknown): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: WORKER_HEAP_MB };
  if (EXT !== '.ts') return new Worker(WORKER, { workerData, resourceLimits });
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(WORKER.href)}); })`;
  return new Worker(boot, { eval: true, workerData, resourceLimits });
}

/** The file's rows, parsed in a worker thread; a file with more than `maxRows` rows is refused (AppError validation). */
export function parseFleetFile(text: string, format: FleetFormat, maxRows: number): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    const w = startWorker({ text, format, maxRows });
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
