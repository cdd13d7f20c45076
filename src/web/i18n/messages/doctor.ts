/**
 * `doctor`'s lines (test connection, `whalefall doctor`): what each grant check found and what is
 * under-counted without it, by key (engines/common.ts `check`). See ../messages.ts.
 */
export const DOCTOR_MESSAGES = {
  'doctor.summary_ok': { 'zh-CN': '权限完整 (all required grants present)', en: 'All required grants present' },
  'doctor.summary_missing': { 'zh-CN': '缺少 {count} 项权限 (missing grants)', en: '{count} grant(s) missing' },

  // TLS (every engine)
  'doctor.tls_plain': { 'zh-CN': '连接未加密 (模式 {mode}；网络上可读到流量)', en: 'Not encrypted (mode {mode}; the traffic can be read on the network)' },
  'doctor.tls_encrypted': {
    'zh-CN': '已加密: {protocol} {cipher}；服务器证书主题 {subject}，到期 {expires}；{verified} (模式 {mode})',
    en: 'Encrypted: {protocol} {cipher}; server certificate subject {subject}, expires {expires}; {verified} (mode {mode})',
  },
  'doctor.tls_verified': { 'zh-CN': '证书已验证', en: 'certificate verified' },
  'doctor.tls_not_verified': { 'zh-CN': '证书未验证 {reason}', en: 'certificate NOT verified {reason}' },

  // PostgreSQL
  'doctor.pg.superuser': { 'zh-CN': '{user} 是超级用户：每个数据库都能测量', en: '{user} is superuser: every database can be measured' },
  'doctor.pg.stats_member': { 'zh-CN': '{user} 是 pg_read_all_stats 成员：每个数据库都能测量', en: '{user} is a member of pg_read_all_stats: every database can be measured' },
  'doctor.pg.connect_all': {
    'zh-CN': '每个数据库都有 CONNECT 权限（GRANT pg_read_all_stats TO {role}; 还能覆盖以后新建的数据库）',
    en: 'CONNECT on every database (GRANT pg_read_all_stats TO {role}; would also cover databases created later without it)',
  },
  'doctor.pg.locked': {
    'zh-CN': '{user} 不是 pg_read_all_stats 成员，且在 {count} 个数据库上没有 CONNECT 权限',
    en: '{user} is not a member of pg_read_all_stats and lacks CONNECT on {count} database(s)',
  },
  'doctor.pg.locked_undercounts': {
    'zh-CN': '{count} 个数据库大小未知，不计入实例总容量',
    en: '{count} database(s) have an unknown size and are left out of the instance total',
  },
  'doctor.pg.no_connect': { 'zh-CN': '没有 {database} 的 CONNECT 权限', en: 'no CONNECT privilege on {database}' },
  'doctor.pg.no_connect_undercounts': {
    'zh-CN': '{database}：大小未知（列出并带错误，不计入实例总容量）',
    en: '{database}: size unknown (listed with an error, not counted in the instance total)',
  },

  // MySQL / MariaDB
  'doctor.mysql.select_all': { 'zh-CN': '{grantee} 能看到 information_schema.TABLES 中的每张表', en: '{grantee} can see every table in information_schema.TABLES' },
  'doctor.mysql.select_missing': {
    'zh-CN': '{grantee} 没有全局 SELECT：只能看到有权限的表',
    en: '{grantee} has no global SELECT: only tables it has a privilege on are visible',
  },
  'doctor.mysql.select_undercounts': {
    'zh-CN': '没有权限的表不计入：它们所在的库显得更小或为空',
    en: 'tables the user has no privilege on are not counted: their schemas look smaller or empty',
  },
  'doctor.mysql.process_ok': { 'zh-CN': 'InnoDB 表空间视图可读', en: 'InnoDB tablespace views are readable' },
  'doctor.mysql.process_missing': {
    'zh-CN': '方法 "{method}" 读取 InnoDB 表空间视图，需要 PROCESS 权限',
    en: 'method "{method}" reads InnoDB tablespace views, which need PROCESS',
  },
  'doctor.mysql.process_auto': { 'zh-CN': '退回较慢的逻辑方法', en: 'falls back to the slower logical method' },
  'doctor.mysql.process_physical': { 'zh-CN': '物理方法失败', en: 'the physical method fails' },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;
