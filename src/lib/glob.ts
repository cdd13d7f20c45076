/**
 * Database-name patterns for exclusion rules, alert `database_pattern` and table filters: `*` or `%` any run
 * of characters, `?` exactly one; everything else literal (so `tmp_%` means names starting with "tmp_").
 * Case-sensitive, whole name, compared by code point.
 *
 * No regular expressions: the names come from monitored servers, and a `.*`-per-star regex backtracks
 * exponentially (eight stars against a 64-character name took over a minute). Here the pattern is cut at its
 * stars into literal pieces; the first piece must start the name, the last must end it, and each middle piece
 * is taken at its leftmost place — leftmost is always safe because a later star can absorb what lies between.
 * Cost: O(name × longest piece) at worst, whatever the number of stars.
 */
export type GlobMatcher = (name: string) => boolean;

/** Pieces compare code points; `?` (ANY) matches any one. */
const ANY = -1;

function piece(s: string): number[] {
  return Array.from(s, (ch) => (ch === '?' ? ANY : ch.codePointAt(0)!));
}

function matchesAt(name: number[], at: number, p: number[]): boolean {
  if (at + p.length > name.length) return false;
  for (let i = 0; i < p.length; i++) if (p[i] !== ANY && p[i] !== name[at + i]) return false;
  return true;
}

/** Compile once, test many names (an exclusion list runs against every database of every sync). */
export function compileGlob(pattern: string): GlobMatcher {
  const parts = pattern.split(/[*%]/u).map(piece);
  if (parts.length === 1) {
    const only = parts[0]!;
    return (name) => {
      const n = Array.from(name, (ch) => ch.codePointAt(0)!);
      return n.length === only.length && matchesAt(n, 0, only);
    };
  }
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((p) => p.length > 0);
  return (name) => {
    const n = Array.from(name, (ch) => ch.codePointAt(0)!);
    if (first.length + last.length > n.length) return false;
    if (!matchesAt(n, 0, first) || !matchesAt(n, n.length - last.length, last)) return false;
    let at = first.length;
    const end = n.length - last.length;
    for (const p of middle) {
      let found = -1;
      for (let i = at; i + p.length <= end; i++) {
        if (matchesAt(n, i, p)) {
          found = i;
          break;
        }
      }
      if (found < 0) return false;
      at = found + p.length;
    }
    return true;
  };
}

/** Whether `name` matches `pattern` (compiles it; use `compileGlob` in loops). */
export function globMatches(pattern: string, name: string): boolean {
  return compileGlob(pattern)(name);
}

/** The first of `patterns` that matches `name`, if any. */
export function excludedBy(name: string, patterns: readonly string[] | undefined): string | undefined {
  return patterns?.find((p) => globMatches(p, name));
}
