/**
 * Database-name patterns for exclusion rules: `*` or `%` any run of
 * characters, `?` exactly one; everything else literal (so `tmp_%` means
 * names starting with "tmp_"). Case-sensitive, whole name.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*' || ch === '%') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'su');
}

export function excludedBy(name: string, patterns: readonly string[] | undefined): string | undefined {
  return patterns?.find((p) => globToRegExp(p).test(name));
}
