/**
 * The vocabulary of alert rules: rule kinds, growth windows, channel types.
 * Shared by the alert services, the API's schemas and (as types) the browser.
 * Adding a rule kind: see services/alerts/rule-kinds.ts.
 */
export const RULE_KINDS = ['size_above', 'growth_pct', 'growth_bytes', 'days_until_full', 'database_disappeared', 'sync_failing'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const WINDOWS = ['day', 'week'] as const;
export type RuleWindow = (typeof WINDOWS)[number];

export const CHANNEL_TYPES = ['generic', 'dingtalk', 'wecom', 'slack', 'feishu', 'feishu_card', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
