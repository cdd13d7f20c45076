/**
 * The collector thread started from the sources (`sourceFlags`): the process's node flags pass on, less its own
 * script's (`-e`, `--input-type`) and its preloads, which the bundle imports itself — all but tsx.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourceFlags } from '../../src/engines/collector-thread.js';

test('flags: the script and the loader stay behind, other preloads are imported, the rest pass on', () => {
  assert.deepEqual(sourceFlags(['--import', 'tsx', '--max-semi-space-size=8']), { execArgv: ['--max-semi-space-size=8'], preloads: [] });
  assert.deepEqual(sourceFlags(['--import=tsx/esm', '--import', './test/helpers/loaded-packages.mjs', '--enable-source-maps']), {
    execArgv: ['--enable-source-maps'],
    preloads: ['./test/helpers/loaded-packages.mjs'],
  });
  assert.deepEqual(sourceFlags(['--import', 'tsx', '--input-type=module', '-e', 'console.log(1)', '--cpu-prof']), { execArgv: ['--cpu-prof'], preloads: [] });
  assert.deepEqual(sourceFlags(['--eval', 'x', '--input-type', 'module']), { execArgv: [], preloads: [] });
});
