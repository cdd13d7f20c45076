/**
 * A CommonJS package loaded on first use instead of at start: `whalefall
 * serve` then pays for a database driver only when something connects with
 * it (mysql2 ~3 MB of heap and ~6 MB resident, pg ~3 MB / ~6 MB; see
 * docs/benchmarks-notes.md, "memory: what an idle serve is made of").
 *
 *   import type * as Pg from 'pg';
 *   const pg = lazyModule<typeof Pg>('pg');
 *   new pg.Client(…); // loads pg here, the first time
 *
 * Reading any property of the returned object loads the package (synchronously,
 * through `require`), so it behaves like the package itself — except that
 * nothing is loaded until then. A package that fails to load throws from that
 * first use, with the package named, rather than stopping the process at start.
 * `loaded(name)` tells whether it has been loaded (an `instanceof` test on a
 * driver's error class needs no load when it cannot have thrown yet).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cache = new Map<string, unknown>();

function load(name: string): unknown {
  if (cache.has(name)) return cache.get(name);
  let mod: unknown;
  try {
    mod = require(name);
  } catch (err) {
    throw new Error(`could not load the package ${name} (reinstall Whalefall's dependencies: npm ci): ${(err as Error).message}`, { cause: err });
  }
  cache.set(name, mod);
  return mod;
}

export function lazyModule<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get: (_t, key): unknown => Reflect.get(load(name) as object, key),
    has: (_t, key) => Reflect.has(load(name) as object, key),
  });
}

/** True once `lazyModule(name)` has loaded the package in this process. */
export function loaded(name: string): boolean {
  return cache.has(name);
}
