/**
 * lazyModule (src/lib/lazy-module.ts), how the drivers are loaded on first
 * use: nothing is required until a property is read; a package that cannot be
 * loaded fails at that first use, naming the package, not when the module
 * that declares it is imported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lazyModule, loaded } from '../../src/lib/lazy-module.js';

/** The part of semver (a small CommonJS package among the dependencies) used here. */
interface Semver {
  valid(v: string): string | null;
  gt(a: string, b: string): boolean;
  major(v: string): number;
}

describe('lazyModule', () => {
  it('loads the package at the first property read, once', () => {
    const semver = lazyModule<Semver>('semver');
    assert.equal(loaded('semver'), false);
    assert.equal(semver.valid('1.2.3'), '1.2.3');
    assert.equal(loaded('semver'), true);
    assert.equal(semver.gt('2.0.0', '1.9.9'), true);
    assert.equal(lazyModule<Semver>('semver').major('3.1.0'), 3);
  });

  it('a package that cannot be loaded fails at first use, naming it', () => {
    const missing = lazyModule<{ connect(): void }>('whalefall-no-such-driver');
    assert.equal(loaded('whalefall-no-such-driver'), false);
    assert.throws(() => missing.connect(), /could not load the package whalefall-no-such-driver \(reinstall .*npm ci\)/);
    assert.equal(loaded('whalefall-no-such-driver'), false);
  });
});
