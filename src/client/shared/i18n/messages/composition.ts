/**
 * Why a part of an instance's composition (or its ceiling) was not measured, by key (the engines' *.composition.ts).
 * zh-CN keeps the text the engines stored before these keys existed where it was Chinese, byte for byte; the
 * composition JSON stores the text next to its key (`reason` + `reason_msg`), so rows stored before keep reading.
 */
export const COMPOSITION_MESSAGES = {
  /** A driver's or server's own words (a cause that has no key of its own). */
  'composition.reason.text': { 'zh-CN': '{text}', en: '{text}' },
  'composition.reason.with_grant': { 'zh-CN': '{cause} ({grant})', en: '{cause} ({grant})' },
  // PostgreSQL
  'composition.reason.pg_none_measured': { 'zh-CN': '没有可测量的数据库 (no database could be measured): {list}', en: 'no database could be measured: {list}' },
  'composition.reason.pg_waldir': {
    'zh-CN': '{cause} (pg_ls_waldir 需要 superuser 或 pg_monitor: GRANT pg_monitor TO <user>;)',
    en: '{cause} (pg_ls_waldir needs superuser or pg_monitor: GRANT pg_monitor TO <user>;)',
  },
  // MySQL / MariaDB
  'composition.reason.mysql_binlog': {
    'zh-CN': '{cause} (SHOW BINARY LOGS 需要 {privilege}: {grant})',
    en: '{cause} (SHOW BINARY LOGS needs {privilege}: {grant})',
  },
  'composition.reason.mysql_undo_in_system': {
    'zh-CN': 'undo 日志位于系统表空间内 (innodb_undo_tablespaces = 0)，无法单独显示',
    en: 'undo logs are inside the system tablespace (innodb_undo_tablespaces = 0): not shown apart',
  },
  'composition.reason.mysql_undo_not_shown': {
    'zh-CN': '服务器不显示 undo 表空间的大小{server}',
    en: 'the server does not show its undo tablespace size{server}',
  },
  'composition.reason.mysql_temp_not_shown': {
    'zh-CN': '服务器不显示临时表空间的大小{server}',
    en: 'the server does not show its temporary tablespace size{server}',
  },
  // Oracle
  'composition.reason.ora_size_unknown': { 'zh-CN': '容量未知 (size unknown)', en: 'size unknown' },
  'composition.reason.ora_ceiling_unknown': {
    'zh-CN': '{count} 个表空间容量未知 (tablespaces of unknown size): {names}',
    en: '{count} tablespace(s) of unknown size: {names}',
  },
  // SQL Server
  'composition.reason.mssql_state': {
    'zh-CN': '数据库状态为 {state}，无法读取已用空间 (database is {state})',
    en: 'the database is {state}: its used space cannot be read',
  },
  'composition.reason.mssql_no_files': {
    'zh-CN': 'sys.master_files 中看不到任何文件 (no file visible): {grant}',
    en: 'no file is visible in sys.master_files: {grant}',
  },
  'composition.reason.mssql_none_readable': {
    'zh-CN': '没有可读取已用空间的数据库 (no database whose used space could be read)',
    en: 'no database whose used space could be read',
  },
  'composition.reason.mssql_no_volume': { 'zh-CN': 'sys.dm_os_volume_stats 没有返回卷 (no volume returned)', en: 'sys.dm_os_volume_stats returned no volume' },
  'composition.reason.mssql_used_space': {
    'zh-CN': '{cause} (FILEPROPERTY 需要该库中的用户, sys.dm_db_log_space_usage 需要 {state}: CREATE USER in the database; GRANT {state} TO {login};)',
    en: '{cause} (FILEPROPERTY needs a user in the database, sys.dm_db_log_space_usage needs {state}: CREATE USER in the database; GRANT {state} TO {login};)',
  },
  'composition.reason.mssql_no_row': { 'zh-CN': '没有返回行 (no row)', en: 'no row returned' },
  'composition.reason.mssql_volumes': {
    'zh-CN': '{cause} (sys.dm_os_volume_stats 需要 {state}: GRANT {state} TO {login};)',
    en: '{cause} (sys.dm_os_volume_stats needs {state}: GRANT {state} TO {login};)',
  },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;
