/**
 * `npm ci` on the oldest Node that package.json's `engines.node` allows gives no EBADENGINE warning (issue #20
 * item 9): every package in package-lock.json that states an `engines.node` range accepts that version. npm's own
 * range grammar decides (the `semver` package npm uses, a dev dependency; its types are not installed, so the two
 * functions used are typed here).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

interface LockPackage {
  version?: string;
  engines?: { node?: string } | string[];
}

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockPackage> };

/** A package's node range; the legacy array form (`["node >= 0.8"]`) is read too. */
function nodeRange(p: LockPackage): string | null {
  if (Array.isArray(p.engines)) {
    const node = p.engines.find((e) => e.startsWith('node'));
    return node ? node.slice(4).trim() : null;
  }
  return p.engines?.node ?? null;
}

test('every locked package accepts the oldest Node that package.json allows (npm ci gives no EBADENGINE)', () => {
  const lowest = semver.minVersion(pkg.engines.node)?.version;
  assert.ok(lowest, `package.json engines.node ${pkg.engines.node} allows no version`);
  assert.equal(lock.packages['']?.engines && nodeRange(lock.packages['']!), pkg.engines.node, "the lock records package.json's engines.node");
  const refused: string[] = [];
  let checked = 0;
  for (const [where, p] of Object.entries(lock.packages)) {
    const range = where === '' ? null : nodeRange(p);
    if (range === null) continue;
    checked++;
    if (!semver.satisfies(lowest, range)) refused.push(`${where.replace(/^.*node_modules\//, '')}@${p.version}: node ${range}`);
  }
  assert.ok(checked > 50, `only ${checked} packages state an engines.node range: the lock was not read`);
  assert.deepEqual(refused, [], `Node ${lowest} (package.json engines.node ${pkg.engines.node}) is refused by`);
});

test('the range check itself: a package that needs a newer Node is caught', () => {
  assert.equal(semver.satisfies('20.11.0', '>=20.19.0'), false);
  assert.equal(semver.satisfies('20.19.0', '^20.19.0 || ^22.13.0 || >=24'), true);
  assert.equal(semver.satisfies('20.19.0', '>=22.12.0 || >=20.19.0 <21.0.0'), true);
  assert.equal(semver.satisfies('20.19.0', '10.* || >= 12.*'), true);
  assert.equal(semver.minVersion('>=20.19')?.version, '20.19.0');
});
