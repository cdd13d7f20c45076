/**
 * A node:test reporter: how long each test file took (its process from start to exit, importing included), the
 * slowest first. `scripts/test-tier.mjs` adds it to the medium and e2e tiers (on stderr); on its own:
 *   node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout \
 *     --test-reporter=./scripts/test-file-times.mjs --test-reporter-destination=stderr test/x/*.test.ts
 * WHALEFALL_TEST_TIMES=N lists N files (default 10; 0: all).
 */
import path from 'node:path';

export default async function* fileTimes(source) {
  const times = [];
  for await (const event of source) {
    // Each file is a test named by its path, completed when its process has exited (`test:complete` comes as it
    // happens, not in the reporting order).
    const { name, file, nesting, details } = event.data ?? {};
    if (event.type === 'test:complete' && nesting === 0 && name === file) times.push([path.relative(process.cwd(), file), details.duration_ms / 1000]);
  }
  if (times.length === 0) return;
  times.sort((a, b) => b[1] - a[1]);
  const n = Number(process.env.WHALEFALL_TEST_TIMES ?? 10) || times.length;
  const sum = times.reduce((s, [, t]) => s + t, 0);
  yield `# slowest files (of ${times.length}, ${sum.toFixed(0)} s in all):\n`;
  for (const [file, t] of times.slice(0, n)) yield `#   ${t.toFixed(1).padStart(6)} s  ${file}\n`;
}
