/**
 * What a sync tells its user, in the seed's words (DESIGN.md): the API's
 * `message`/`error` of the sync routes and the error text of a record. One
 * module so the texts are found, reviewed and translated in one place.
 */
export const MSG = {
  disabled: '实例已禁用，无法同步容量信息',
  noCredential: '实例缺少连接凭据，无法同步容量信息',
  notFound: (id: number) => `实例 ${id} 不存在 (instance not found)`,
  sessionNotFound: (id: string) => `同步会话 ${id} 不存在 (session not found)`,
  busy: (name: string) => `实例 ${name} 正在同步中，请稍后再试`,
  queued: (name: string) => `实例 ${name} 已在同步队列中 (already queued by another session)`,
  success: (n: number) => `容量同步成功，采集了 ${n} 条记录`,
  unreachable: (name: string, type: string, cause: string) => `无法连接到实例 ${name} (类型: ${type}): ${cause}`,
  failed: (cause: string) => `同步容量失败: ${cause}`,
  empty: '未采集到任何数据库：实例没有返回数据库列表 (nothing collected: not treated as deleted)',
  excluded: (n: number) => `${n} 个数据库被排除规则排除 (excluded by rules)`,
  unmeasured: (n: number, names: string[]) => `${n} 个数据库无法测量大小 (could not be measured): ${names.join(', ')}`,
  deleted: '实例已被删除 (instance deleted)',
  cancelledSkip: '同步已取消，未开始 (cancelled before it started)',
  cancelledAbort: '同步已取消，已中止 (cancelled while running; nothing saved)',
  shutdownSkip: '服务正在停止，未开始 (not started: the service is stopping)',
  shutdownAbort: '服务停止，同步中止 (aborted: the service stopped; nothing saved)',
  stopping: '服务正在停止，不接受新的同步 (the service is stopping)',
  capInstance: (name: string, cap: number) => `实例 ${name} 的并发连接已达上限 (${cap})，请稍后再试 (too many connections to ${name} at once: the limit is ${cap}; try again shortly)`,
  capGlobal: (cap: number) => `到被监控数据库的并发连接总数已达上限 (${cap})，请稍后再试 (too many connections to monitored databases at once: the limit is ${cap}; try again shortly)`,
  notRunning: (status: string) => `同步会话已结束 (${status})，无法取消 (session is not running)`,
};
