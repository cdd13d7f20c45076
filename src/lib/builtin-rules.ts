/**
 * The alert rules Whalefall creates itself (migration 0023). Their stored name is bilingual so that
 * notifications and exports read in either language; a screen shows it in the user's language instead
 * (the key below) as long as the admin has not renamed the rule.
 */
export const DEFAULT_SYNC_FAILING_RULE = '同步失败 (sync failing)';

/** The i18n key to show for a rule's name, or null when the name is the admin's own. */
export function builtinRuleNameKey(name: string): string | null {
  return name === DEFAULT_SYNC_FAILING_RULE ? 'builtin_rule.sync_failing' : null;
}
