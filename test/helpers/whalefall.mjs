#!/usr/bin/env node
// The `whalefall` command as the tests spawn it.
// - Under scripts/test-tier.mjs (WHALEFALL_TEST_CLI=dist): the compiled dist/, which the tier has just built from the
//   sources (incrementally) before any test: a command starts on ~0.4 s of CPU instead of ~1 s through tsx.
// - Otherwise (one test file run by hand): the sources through tsx, so a stale dist/ is never what is tested.
if (process.env.WHALEFALL_TEST_CLI === 'dist') {
  process.setSourceMapsEnabled(true);
  await import('../../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../../src/cli/main.ts');
}
