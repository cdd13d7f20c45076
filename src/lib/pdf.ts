/**
 * HTML → PDF through the system's chromium (headless `--print-to-pdf`), for
 * the monthly capacity report. No browser library at run time: one process
 * per document, bounded by a timeout, its temp folder removed afterwards.
 * `pdfAvailable()` says whether the configured executable exists (the API
 * answers 501 with the path when it does not).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function pdfAvailable(chromium: string): boolean {
  try {
    fs.accessSync(chromium, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function htmlToPdf(html: string, chromium: string, timeoutMs = 60_000): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-pdf-'));
  try {
    const input = path.join(dir, 'report.html');
    const output = path.join(dir, 'report.pdf');
    fs.writeFileSync(input, html);
    await new Promise<void>((resolve, reject) => {
      execFile(
        chromium,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-pdf-header-footer',
          `--user-data-dir=${path.join(dir, 'profile')}`,
          `--print-to-pdf=${output}`,
          `file://${input}`,
        ],
        { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 },
        (err, _stdout, stderr) =>
          err ? reject(new Error(`chromium --print-to-pdf failed: ${err.message}${stderr ? ` (${String(stderr).slice(0, 300)})` : ''}`)) : resolve(),
      );
    });
    return fs.readFileSync(output);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
