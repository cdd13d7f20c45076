#!/usr/bin/env node
// The `whalefall` command from the sources through tsx: what the tests spawn, so they run src/ as it is now
// (bin/whalefall.mjs runs the compiled dist/, which may be older than the sources while developing).
import { register } from 'tsx/esm/api';

register();
await import('../../src/cli/main.ts');
