/**
 * Alert events' messages (src/services/alerts/rule-kinds.ts): stored by key with the event, shown in the
 * user's language; the event's text (notifications, exports) is both languages, Chinese first.
 */
export const ALERT_MESSAGES = {
  'alert.where_instance': { 'zh-CN': '实例 {instance}', en: 'Instance {instance}' },
  'alert.where_database': { 'zh-CN': '实例 {instance} 数据库 {database}', en: 'Instance {instance}, database {database}' },
  'alert.window_day': { 'zh-CN': '日', en: 'daily' },
  'alert.window_week': { 'zh-CN': '周', en: 'weekly' },
  'alert.since': { 'zh-CN': '自 {date} 起', en: 'since {date}' },
  'alert.since_change_point': { 'zh-CN': '自变化点 {date} 起', en: 'since the change point {date}' },
  'alert.size_above': { 'zh-CN': '{where} 总容量 {size} 超过阈值 {threshold}', en: '{where}: total size {size} above the threshold {threshold}' },
  'alert.size_above_db': { 'zh-CN': '{where} 容量 {size} 超过阈值 {threshold}', en: '{where}: size {size} above the threshold {threshold}' },
  'alert.growth_bytes': {
    'zh-CN': '{where} {window}增长 {delta} 超过阈值 {threshold}',
    en: '{where}: {window} growth {delta} above the threshold {threshold}',
  },
  'alert.growth_pct': { 'zh-CN': '{where} {window}增长 {pct}% 超过阈值 {threshold}%', en: '{where}: {window} growth {pct}% above the threshold {threshold}%' },
  'alert.days_until_full': {
    'zh-CN': '{where} 预计 {days} 天后达到上限 {ceiling}（稳健拟合{since} {points} 天，区间 {low}–{high} 天）',
    en: '{where}: reaches the ceiling {ceiling} in {days} days (robust fit {since} over {points} days, interval {low}–{high} days)',
  },
  'alert.already_full': {
    'zh-CN': '{where} 已达到上限 {ceiling}（{date} 容量 {size}）',
    en: '{where}: at the ceiling {ceiling} already ({size} on {date})',
  },
  'alert.database_disappeared': {
    'zh-CN': '{where} 已消失（最近一次同步未采集到，{deleted_at}）',
    en: '{where} disappeared (not collected by the last sync, {deleted_at})',
  },
  'alert.sync_failing': { 'zh-CN': '{where} 容量同步连续失败 {k} 次：{cause}', en: '{where}: capacity sync failed {k} times in a row: {cause}' },
} as const;
