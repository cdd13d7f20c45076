/** Sync sessions: every visible string in zh-CN and English (see ../messages.ts). */
export const SYNC_MESSAGES = {
  // sync sessions
  'sessions.live': { 'zh-CN': '实时更新中', en: 'Updating live' },
  'sessions.detail_title': { 'zh-CN': '同步会话', en: 'Sync session' },
  'sessions.col_started': { 'zh-CN': '开始时间', en: 'Started' },
  'sessions.col_holder': { 'zh-CN': '执行进程', en: 'Process' },
  'sessions.col_holder_hint': { 'zh-CN': '运行该记录的进程（主机:PID）', en: 'The process that ran this record (host:pid)' },
  'sessions.col_completed': { 'zh-CN': '结束时间', en: 'Finished' },
  'sessions.col_type': { 'zh-CN': '类型', en: 'Type' },
  'sessions.col_status': { 'zh-CN': '状态', en: 'Status' },
  'sessions.col_counts': { 'zh-CN': '结果', en: 'Result' },
  'sessions.col_duration': { 'zh-CN': '耗时', en: 'Duration' },
  'sessions.col_id': { 'zh-CN': '会话 ID', en: 'Session ID' },
  'sessions.col_instance': { 'zh-CN': '实例', en: 'Instance' },
  'sessions.col_attempt': { 'zh-CN': '尝试次数', en: 'Attempt' },
  'sessions.col_total': { 'zh-CN': '总容量', en: 'Total size' },
  'sessions.counts': { 'zh-CN': '成功 {ok} · 失败 {failed} · 共 {total}', en: '{ok} succeeded · {failed} failed · {total} total' },
  'sessions.counts_skipped': {
    'zh-CN': '成功 {ok} · 失败 {failed} · 跳过 {skipped} · 共 {total}',
    en: '{ok} succeeded · {failed} failed · {skipped} skipped · {total} total',
  },
  'sessions.progress': { 'zh-CN': '同步进度', en: 'Sync progress' },
  'sessions.empty': {
    'zh-CN': '还没有同步会话：到实例管理页点击“同步容量”或“批量同步”。',
    en: 'No sync sessions yet: press "Sync capacity" or "Batch sync" on the instances page.',
  },
  'sessions.no_match': { 'zh-CN': '没有符合筛选条件的会话。', en: 'No session matches the filters.' },
  'sessions.no_records': { 'zh-CN': '这个会话没有实例记录。', en: 'This session has no instance records.' },
  'sync_type.manual_single': { 'zh-CN': '手动单实例', en: 'Manual (one instance)' },
  'sync_type.manual_batch': { 'zh-CN': '手动批量', en: 'Manual batch' },
  'sync_type.scheduled_task': { 'zh-CN': '定时任务', en: 'Scheduled' },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;
