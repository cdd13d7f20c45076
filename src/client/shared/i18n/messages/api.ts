/**
 * What the API tells its user (`message`, `error`) and what a sync record stores, by key. The
 * zh-CN text is the API's own text (the seed's words, byte for byte: clients compare them); `en`
 * is sent when the request prefers English (Accept-Language) and shown by the English UI, which
 * renders `message_key` + `params` itself. See ../messages.ts and docs/api.md.
 */
export const API_MESSAGES = {
  // capacity sync (services/sync/messages.ts)
  'api.sync.disabled': { 'zh-CN': '实例已禁用，无法同步容量信息', en: 'The instance is disabled: its capacity cannot be synced' },
  'api.sync.no_active': { 'zh-CN': '没有已启用的实例可同步 (no active instance to sync)', en: 'No active instance to sync' },
  'api.sync.no_credential': { 'zh-CN': '实例缺少连接凭据，无法同步容量信息', en: 'The instance has no credential: its capacity cannot be synced' },
  'api.sync.busy': { 'zh-CN': '实例 {name} 正在同步中，请稍后再试', en: 'Instance {name} is being synced: try again later' },
  'api.sync.queued': { 'zh-CN': '实例 {name} 已在同步队列中 (already queued by another session)', en: 'Instance {name} is already queued by another session' },
  'api.sync.success': { 'zh-CN': '容量同步成功，采集了 {count} 条记录', en: 'Capacity synced: {count} records collected' },
  'api.sync.unreachable': { 'zh-CN': '无法连接到实例 {name} (类型: {db_type}): {cause}', en: 'Cannot connect to instance {name} (type: {db_type}): {cause}' },
  'api.sync.failed': { 'zh-CN': '同步容量失败: {cause}', en: 'Capacity sync failed: {cause}' },
  'api.sync.empty': {
    'zh-CN': '未采集到任何数据库：实例没有返回数据库列表 (nothing collected: not treated as deleted)',
    en: 'Nothing collected: the instance returned no databases (not treated as deleted)',
  },
  'api.sync.excluded': { 'zh-CN': '{count} 个数据库被排除规则排除 (excluded by rules)', en: '{count} database(s) excluded by rules' },
  'api.sync.unmeasured': { 'zh-CN': '{count} 个数据库无法测量大小 (could not be measured): {names}', en: '{count} database(s) could not be measured: {names}' },
  'api.sync.deleted': { 'zh-CN': '实例已被删除 (instance deleted)', en: 'The instance was deleted' },
  'api.sync.job_given_up': {
    'zh-CN': '同步队列已放弃此记录：其任务运行 {runs} 次均失败，最后一次: {cause} (the queue gave this record up)',
    en: 'The queue gave this record up: its job failed all {runs} times it ran; the last time: {cause}',
  },
  'api.sync.cancelled_skip': { 'zh-CN': '同步已取消，未开始 (cancelled before it started)', en: 'Sync cancelled before it started' },
  'api.sync.cancelled_abort': { 'zh-CN': '同步已取消，已中止 (cancelled while running; nothing saved)', en: 'Sync cancelled while running: nothing saved' },
  'api.sync.shutdown_skip': { 'zh-CN': '服务正在停止，未开始 (not started: the service is stopping)', en: 'Not started: the service is stopping' },
  'api.sync.shutdown_abort': { 'zh-CN': '服务停止，同步中止 (aborted: the service stopped; nothing saved)', en: 'Aborted: the service stopped; nothing saved' },
  'api.sync.stopping': { 'zh-CN': '服务正在停止，不接受新的同步 (the service is stopping)', en: 'The service is stopping: no new sync is accepted' },
  'api.sync.cap_instance': {
    'zh-CN': '实例 {name} 的并发连接已达上限 ({cap})，请稍后再试 (too many connections to {name} at once: the limit is {cap}; try again shortly)',
    en: 'Instance {name} has reached its connection limit ({cap}); try again shortly (too many connections to {name} at once: the limit is {cap})',
  },
  'api.sync.cap_global': {
    'zh-CN':
      '到被监控数据库的并发连接总数已达上限 ({cap})，请稍后再试 (too many connections to monitored databases at once: the limit is {cap}; try again shortly)',
    en: 'The connections to monitored databases have reached their limit ({cap}); try again shortly (too many at once: the limit is {cap})',
  },
  'api.sync.batch_started': { 'zh-CN': '已开始批量同步 {total} 个实例', en: 'Batch sync started: {total} instance(s)' },
  'api.sync.cancel_requested': {
    'zh-CN': '已取消同步会话：{skipped} 个实例未开始，{running} 个正在中止 (cancel requested)',
    en: 'Sync session cancelled: {skipped} instance(s) not started, {running} being stopped',
  },
  'api.sync.not_running': {
    'zh-CN': '同步会话已结束 ({status})，无法取消 (session is not running)',
    en: 'The sync session has ended ({status}): nothing to cancel',
  },
  // warnings of a completed sync (the instance's last_sync_error: `{first}; {rest}` chains them)
  'api.sync.warning_list': { 'zh-CN': '{first}; {rest}', en: '{first}; {rest}' },
  // an engine's warning not yet keyed: its text as it is
  'api.sync.warning_text': { 'zh-CN': '{text}', en: '{text}' },
  'api.sync.warn.pg_bulk_failed': {
    'zh-CN': '批量容量查询失败，已改为逐库查询 (bulk size query failed, measured one by one): {cause}',
    en: 'The bulk size query failed: measured one by one ({cause})',
  },
  'api.sync.warn.pg_not_connectable': {
    'zh-CN': '{count} 个数据库不接受连接，已照常测量大小 (do not accept connections; measured): {names}',
    en: '{count} database(s) do not accept connections; measured all the same: {names}',
  },
  'api.sync.warn.names_replaced': {
    'zh-CN': '{count} 个数据库名含无法保存的字符 (U+0000 或孤立代理项)，已替换为 \uFFFD (characters no store can hold, replaced): {names}',
    en: '{count} database name(s) held characters no store can hold (U+0000, a lone surrogate), replaced by \uFFFD: {names}',
  },
  'api.sync.warn.mysql_fallback': {
    'zh-CN':
      'auto: 表空间视图不可读 (需 PROCESS)，已改用 logical，容量为表统计而非文件大小 (tablespace view not readable, GRANT PROCESS ON *.* to measure files; measured logically): {cause}',
    en: 'auto: the tablespace view is not readable (GRANT PROCESS ON *.* to measure files): measured logically, from table statistics ({cause})',
  },
  'api.sync.warn.mysql_tables_unmeasured': {
    'zh-CN': '{name}: {count} 个表无法读取大小，容量偏小 ({count} table(s) could not be measured)',
    en: '{name}: {count} table(s) could not be measured: the size is low',
  },
  'api.sync.warn.mysql_undecodable': {
    'zh-CN': '{count} 个表空间名称无法解码 (tablespace names not decodable)',
    en: '{count} tablespace name(s) could not be decoded',
  },
  'api.sync.warn.mysql_physical_scope': {
    'zh-CN': 'physical 方法不含非 InnoDB 表及共享表空间中的表 (non-InnoDB tables and shared tablespaces are not counted)',
    en: 'The physical method does not count non-InnoDB tables or tables in shared tablespaces',
  },
  // the CLI: an instance named explicitly but disabled (issue #20 item 6)
  'cli.skipped_disabled': { 'zh-CN': 'skipped: disabled (实例已禁用)', en: 'skipped: disabled' },
  // connection tests over a selection, discovery (fleet.routes.ts)
  'api.connection.tested': { 'zh-CN': '{ok}/{total} 连接成功 (connected)', en: '{ok}/{total} connected' },
  'api.connection.no_credential': { 'zh-CN': '实例没有凭据，未连接 (no credential: not contacted)', en: 'No credential: not contacted' },
  'api.discovery.done': {
    'zh-CN': '探测 {probed} 个端点，发现 {found} 个数据库，{proposed} 个未登记 (probed, found, proposed)',
    en: 'Probed {probed} endpoint(s): {found} database server(s) found, {proposed} not registered',
  },
  'api.instance_not_found': { 'zh-CN': '实例 {id} 不存在 (instance not found)', en: 'Instance {id} not found' },
  'api.session_not_found': { 'zh-CN': '同步会话 {id} 不存在 (session not found)', en: 'Sync session {id} not found' },

  // table sizes and composition
  'api.tables.disabled': { 'zh-CN': '实例已禁用，无法同步表容量 (instance disabled)', en: 'The instance is disabled: its table sizes cannot be synced' },
  'api.tables.no_credential': {
    'zh-CN': '实例缺少连接凭据，无法同步表容量 (no credential)',
    en: 'The instance has no credential: its table sizes cannot be synced',
  },
  'api.tables.busy': {
    'zh-CN': '实例 {name} 的表容量正在同步中，请稍后再试 (a table sync of this instance is running)',
    en: 'A table sync of instance {name} is running: try again later',
  },
  'api.tables.unsupported': {
    'zh-CN': '{label} 暂不支持表级容量采集 (table-level collection not supported)',
    en: '{label} does not support table-level collection yet',
  },
  'api.tables.failed': { 'zh-CN': '同步表容量失败: {cause}', en: 'Table sync failed: {cause}' },
  'api.tables.success': {
    'zh-CN': '表容量同步成功，{databases} 个数据库，保存了 {count} 条表记录',
    en: 'Table sizes synced: {databases} database(s), {count} table rows saved',
  },
  'api.composition.no_credential': {
    'zh-CN': '实例缺少连接凭据，无法采集空间构成 (no credential)',
    en: 'The instance has no credential: its composition cannot be collected',
  },
  'api.composition.unsupported': { 'zh-CN': '{label} 暂不支持空间构成采集 (composition not supported)', en: '{label} does not support composition yet' },
  'api.composition.failed': { 'zh-CN': '采集空间构成失败: {cause}', en: 'Composition collection failed: {cause}' },
  'api.composition.success': { 'zh-CN': '空间构成采集成功', en: 'Composition collected' },

  // connection test
  'api.connection.ok': { 'zh-CN': '连接成功 ({version})', en: 'Connected ({version})' },
  'api.connection.unsaved_admin': {
    'zh-CN': '权限不足：测试未保存的设置需要 admin 角色 (testing unsaved settings requires role admin)',
    en: 'Not allowed: testing unsaved settings requires role admin',
  },

  // other successes
  'api.instance_deleted': { 'zh-CN': '实例已删除', en: 'Instance deleted' },
  'api.credential_deleted': { 'zh-CN': '凭据已删除', en: 'Credential deleted' },
  'api.settings_saved': { 'zh-CN': '设置已保存', en: 'Settings saved' },
  'api.rule_created': { 'zh-CN': '告警规则已创建', en: 'Alert rule created' },
  'api.rule_saved': { 'zh-CN': '告警规则已保存', en: 'Alert rule saved' },
  'api.rule_deleted': { 'zh-CN': '告警规则已删除', en: 'Alert rule deleted' },
  'api.logged_out': { 'zh-CN': '已退出登录', en: 'Logged out' },
  'api.token_created': { 'zh-CN': '令牌已创建，只显示这一次 (shown once)', en: 'Token created: it is shown this once' },
  'api.token_revoked': { 'zh-CN': '令牌已吊销', en: 'Token revoked' },
  'api.user_unlocked': { 'zh-CN': '已解除登录限制 (login delays lifted)', en: 'Login delays lifted' },
  'api.aggregated': { 'zh-CN': '聚合完成 (aggregation done)', en: 'Aggregation done' },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;
