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
  'doctor.pg.stats_member': {
    'zh-CN': '{user} 是 pg_read_all_stats 成员：每个数据库都能测量',
    en: '{user} is a member of pg_read_all_stats: every database can be measured',
  },
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
  'doctor.mysql.select_all': {
    'zh-CN': '{grantee} 能看到 information_schema.TABLES 中的每张表',
    en: '{grantee} can see every table in information_schema.TABLES',
  },
  'doctor.mysql.select_missing': {
    'zh-CN': '{grantee} 没有全局 SELECT：只能看到有权限的表',
    en: '{grantee} has no global SELECT: only tables it has a privilege on are visible',
  },
  'doctor.mysql.select_undercounts': {
    'zh-CN': '没有权限的表不计入：它们所在的库显得更小或为空',
    en: 'tables the user has no privilege on are not counted: their schemas look smaller or empty',
  },
  'doctor.mysql.process_ok': {
    'zh-CN': 'information_schema.{view} 可读：大小取自表空间文件',
    en: 'information_schema.{view} is readable: sizes are tablespace files',
  },
  'doctor.mysql.process_missing': {
    'zh-CN': '方法 "{method}" 读取 information_schema.{view}，需要 PROCESS 权限',
    en: 'method "{method}" reads information_schema.{view}, which needs PROCESS',
  },
  'doctor.mysql.process_auto': {
    'zh-CN': 'auto 退回逻辑方法：大小取自表统计 (DATA_LENGTH + INDEX_LENGTH)，而非磁盘上的文件',
    en: 'auto falls back to logical: sizes are table statistics (DATA_LENGTH + INDEX_LENGTH), not what the files hold on disk',
  },
  'doctor.mysql.process_physical': { 'zh-CN': '物理方法失败', en: 'the physical method fails' },

  // SQL Server
  'doctor.mssql.databases_listed': { 'zh-CN': 'sys.databases 可见 {count} 个数据库', en: 'sys.databases lists {count} database(s)' },
  'doctor.mssql.databases_undercounts': {
    'zh-CN': '只列出 master、tempdb 和本登录拥有的数据库；其余数据库会被当作已删除',
    en: 'only master, tempdb and the databases this login owns are listed; the others would be marked deleted',
  },
  'doctor.mssql.files_visible': {
    'zh-CN': 'sys.master_files 中可见 {visible}/{count} 个数据库的文件',
    en: 'sys.master_files shows the files of {visible}/{count} database(s)',
  },
  'doctor.mssql.files_undercounts': { 'zh-CN': '{hidden} 个数据库的容量未知', en: 'size unknown for {hidden} database(s)' },
  'doctor.mssql.state_reads': { 'zh-CN': '读取 {reads}', en: 'reads {reads}' },
  'doctor.mssql.state_reads_2022': { 'zh-CN': '读取 {reads}；也接受 VIEW SERVER STATE', en: 'reads {reads}; VIEW SERVER STATE also accepted' },
  'doctor.mssql.state_composition': {
    'zh-CN': '空间构成中数据/日志的已用与空闲及磁盘上限未知',
    en: 'composition: used/unused split and volume ceiling unknown',
  },
  'doctor.mssql.state_used_space': {
    'zh-CN': '空间构成中数据/日志的已用与空闲及磁盘上限未知；所有数据库的已用空间未知',
    en: 'composition: used/unused split and volume ceiling unknown; used space unknown everywhere',
  },
  'doctor.mssql.state_snapshots': {
    'zh-CN': '空间构成中数据/日志的已用与空闲及磁盘上限未知；快照大小未知、可用性组角色未知',
    en: 'composition: used/unused split and volume ceiling unknown; snapshot sizes and group roles unknown',
  },
  'doctor.mssql.state_both': {
    'zh-CN': '空间构成中数据/日志的已用与空闲及磁盘上限未知；所有数据库的已用空间未知；快照大小未知、可用性组角色未知',
    en: 'composition: used/unused split and volume ceiling unknown; used space unknown everywhere; snapshot sizes and group roles unknown',
  },
  'doctor.mssql.connect_all': { 'zh-CN': '可访问所有 ONLINE 数据库', en: 'all online databases accessible' },
  'doctor.mssql.connect_denied': { 'zh-CN': '无法访问: {databases}', en: 'not accessible: {databases}' },
  'doctor.mssql.connect_undercounts': { 'zh-CN': '{count} 个数据库的已用空间未知', en: 'used space unknown for {count} database(s)' },
  // Oracle (oracle.collect.ts doctorChecks); a view's "what it under-counts" and a refused container_mode are in warnings.ts
  'doctor.oracle.connected': { 'zh-CN': '已连接 (connected) to {where}', en: 'Connected to {where}' },
  'doctor.oracle.readable': { 'zh-CN': '可读 (readable)', en: 'readable' },
  'doctor.oracle.unreadable': { 'zh-CN': '不可读 (ORA-00942/ORA-01031)', en: 'not readable (ORA-00942/ORA-01031)' },
  'doctor.oracle.containers_all': { 'zh-CN': '可见所有容器 (all containers visible)', en: 'all containers visible' },
  'doctor.oracle.containers_list': { 'zh-CN': 'CONTAINER_DATA 为指定列表 (explicit list)', en: 'CONTAINER_DATA is an explicit list' },
  'doctor.oracle.containers_root': { 'zh-CN': '仅可见 CDB$ROOT (only CDB$ROOT visible)', en: 'only CDB$ROOT visible' },
  'doctor.oracle.outside_list': { 'zh-CN': '列表外的 PDB (PDBs outside the list)', en: 'the PDBs outside the list' },
  'doctor.oracle.every_pdb': { 'zh-CN': '所有 PDB (every PDB): collection fails', en: 'every PDB: the collection fails' },
  'doctor.oracle.nothing_collected': { 'zh-CN': '无法采集 (nothing is collected)', en: 'nothing is collected' },
  'doctor.oracle.tcps': { 'zh-CN': '已加密: TCPS (Oracle Net over TLS)', en: 'Encrypted: TCPS (Oracle Net over TLS)' },
  'doctor.oracle.native_encryption': {
    'zh-CN': '已加密: Oracle 原生网络加密 {algorithm} (协议 {protocol})',
    en: 'Encrypted: Oracle native network encryption {algorithm} (protocol {protocol})',
  },
  'doctor.oracle.encryption_unknown': {
    'zh-CN': '未使用 TLS (协议 {protocol})；是否启用原生网络加密未知 (需 SELECT ON V$SESSION_CONNECT_INFO)',
    en: 'No TLS (protocol {protocol}); native network encryption unknown (needs SELECT ON V$SESSION_CONNECT_INFO)',
  },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;
