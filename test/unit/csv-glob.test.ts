/**
 * Pure helpers the exports, imports, exclusion rules and alert patterns rely
 * on: RFC 4180 CSV with the formula guard (written and read back), and the
 * database-name wildcard matcher (`*`/`%` any run, `?` one; whole name, case
 * sensitive, linear whatever the number of stars).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { csvField, csvLine, csvUnguard, parseCsv } from '../../src/lib/csv.js';
import { compileGlob, excludedBy, globMatches } from '../../src/lib/glob.js';

describe('csv: writing a field', () => {
  const cases: [unknown, string][] = [
    [null, ''],
    [undefined, ''],
    ['plain', 'plain'],
    [42, '42'],
    [-1.5, '-1.5'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+1', "'+1"],
    ['-x', "'-x"],
    ['@cmd', "'@cmd"],
    ["'=already", "''=already"],
    ['-12', "'-12"], // a string is text, guarded like any other; numbers are never guarded:
    [-12, '-12'],
    [-5.934e-7, '-0.0000005934'],
    ['库 🐳', '库 🐳'],
    [{ a: 1 }, '"{""a"":1}"'],
  ];
  for (const [v, want] of cases) it(`${JSON.stringify(v) ?? 'undefined'} → ${want}`, () => assert.equal(csvField(v), want));
  it('a line ends with CRLF', () => assert.equal(csvLine(['a', 1, null]), 'a,1,\r\n'));
});

describe('csv: reading', () => {
  it('skips a BOM and blank lines, reports the line a record starts on', () => {
    assert.deepEqual(parseCsv('\ufeffa,b\r\n\r\n"x\ny",z\n'), [
      { fields: ['a', 'b'], line: 1 },
      { fields: ['x\ny', 'z'], line: 3 },
    ]);
  });
  it('an unterminated quote names its line', () => assert.throws(() => parseCsv('a\n"open,b\n'), /line 2: .*unterminated/));
  it('text after a closing quote names its line', () => assert.throws(() => parseCsv('"a"b,c'), /line 1: .*closing quote/));
  it('empty fields are kept', () => assert.deepEqual(parseCsv(',,\n')[0]?.fields, ['', '', '']));
  it('unguard removes exactly one guard', () => {
    assert.equal(csvUnguard("'=x"), '=x');
    assert.equal(csvUnguard("''-x"), "'-x");
    assert.equal(csvUnguard("'plain"), "'plain");
  });
  it('write → read → unguard gives back every string (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 5 }), (rows) => {
        const text = rows.map((r) => csvLine(r)).join('');
        const back = parseCsv(text).map((r) => r.fields.map(csvUnguard));
        // A record of one empty field is a blank line: skipped by design.
        const want = rows.filter((r) => !(r.length === 1 && r[0] === ''));
        assert.deepEqual(back, want);
      }),
      { numRuns: 300 },
    );
  });
});

describe('wildcards', () => {
  const cases: [string, string, boolean][] = [
    ['tmp_%', 'tmp_1', true],
    ['tmp_%', 'tmp_', true],
    ['tmp_%', 'xtmp_1', false],
    ['tmp_*', 'tmp_abc', true],
    ['*_bak', 'db_bak', true],
    ['*_bak', 'db_bak2', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a?c', 'abbc', false],
    ['exact', 'exact', true],
    ['exact', 'Exact', false],
    ['exact', 'exactly', false],
    ['*', '', true],
    ['%', 'anything', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['a*b*c', 'abcbc', true],
    ['库*', '库存', true],
    ['?', '🐳', true],
    ['*.*', 'a.b', true],
    ['.*', 'ab', false],
    ['[ab]', 'a', false],
  ];
  for (const [p, name, want] of cases)
    it(`${p} ${want ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => assert.equal(globMatches(p, name), want));
  it('excludedBy names the first matching pattern', () => {
    assert.equal(excludedBy('tmp_1', ['x', 'tmp_%', '*']), 'tmp_%');
    assert.equal(excludedBy('prod', ['tmp_%']), undefined);
    assert.equal(excludedBy('prod', undefined), undefined);
  });
  it('many stars against a long name stay fast (no backtracking blow-up)', () => {
    const m = compileGlob('*a*a*a*a*a*a*a*a*b');
    const t0 = performance.now();
    assert.equal(m('a'.repeat(5000)), false);
    assert.ok(performance.now() - t0 < 1000);
  });
  it('agrees with a reference regular expression on random names (property)', () => {
    const toRegex = (p: string) =>
      new RegExp(`^${Array.from(p, (c) => (c === '*' || c === '%' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 'su');
    const alphabet = fc.constantFrom('a', 'b', '*', '%', '?', '_');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 8 }), fc.array(fc.constantFrom('a', 'b', '_'), { maxLength: 10 }), (p, n) => {
        const pattern = p.join('');
        const name = n.join('');
        assert.equal(globMatches(pattern, name), toRegex(pattern).test(name), `${pattern} vs ${name}`);
      }),
      { numRuns: 500 },
    );
  });
});
