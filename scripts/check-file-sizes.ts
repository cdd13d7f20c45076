/**
 * Fails when a file of `src/` is over 500 lines (issue #19: a file that long
 * does more than one job; split it along its seams). Migrations are left out:
 * a released migration is never edited, only followed by another.
 * Run: `npm run check:sizes`. Prints each file over the limit with its length.
 */
import fs from 'node:fs';
import path from 'node:path';

const MAX_LINES = 500;
const EXEMPT = [path.join('src', 'store', 'migrations') + path.sep];

/** Lines as `wc -l` and an editor count them: a final newline does not start another line. */
function lineCount(text: string): number {
  if (text === '') return 0;
  const breaks = text.split('\n').length - 1;
  return text.endsWith('\n') ? breaks : breaks + 1;
}

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['src'];
const files = roots
  .flatMap((r) => (fs.readdirSync(r, { recursive: true }) as string[]).map((f) => path.join(r, f)))
  .filter((f) => fs.statSync(f).isFile() && !EXEMPT.some((e) => f.startsWith(e)))
  .sort();
const over = files.map((f) => ({ f, n: lineCount(fs.readFileSync(f, 'utf8')) })).filter(({ n }) => n > MAX_LINES);
for (const { f, n } of over) console.error(`${f}: ${n} lines (over ${MAX_LINES}: split it along its seams)`);
if (over.length) process.exit(1);
console.log(`no file over ${MAX_LINES} lines in ${files.length} files (${roots.join(', ')})`);
