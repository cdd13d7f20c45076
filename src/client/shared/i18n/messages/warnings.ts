/**
 * What a completed collection warns about, by key, per engine (SQL Server, Oracle) and for table syncs; and what an
 * Oracle view left unread under-counts. zh-CN is the text the engines wrote before these keys existed, byte for byte
 * (sync records and the API's `last_sync_error` keep it); `en` is the English UI's and `Accept-Language: en`'s.
 */
export const WARNING_MESSAGES = {
  // SQL Server (sqlserver.aggregate.ts)
  'api.sync.warn.mssql_state': {
    'zh-CN': '{name}: 状态为 {state}，容量取自 sys.master_files，不视为删除 (database is {state}; allocated size kept, not deleted)',
    en: '{name}: the database is {state}; its allocated size is taken from sys.master_files and it is not treated as deleted',
  },
  'api.sync.warn.mssql_secondary': {
    'zh-CN': '{name}: 可用性组次要副本，不计入全局总量，以主副本为准 (availability group secondary: counted on its primary, not in the estate total)',
    en: '{name}: availability group secondary: counted on its primary, not in the estate total',
  },
  'api.sync.warn.mssql_secondary_unreadable': {
    'zh-CN':
      '{name}: 可用性组次要副本 (不可读)，不计入全局总量，以主副本为准 (availability group secondary, not readable: counted on its primary, not in the estate total)',
    en: '{name}: availability group secondary, not readable: counted on its primary, not in the estate total',
  },
  'api.sync.warn.mssql_role_unknown': {
    'zh-CN':
      '{name}: 在可用性组中但角色未知，按本副本计入实例总量，全局总量只计最大的一份 (in an availability group, role unknown: {cause}; the estate total counts the largest copy once)',
    en: '{name}: in an availability group, role unknown ({cause}): counted in this instance; the estate total counts the largest copy once',
  },
  'api.sync.warn.mssql_role': {
    'zh-CN':
      '{name}: 可用性组角色为 {role}，不查询已用空间，全局总量只计最大的一份 (availability group role {role}: used space not queried; the estate total counts the largest copy once)',
    en: '{name}: availability group role {role}: used space not queried; the estate total counts the largest copy once',
  },
  'api.sync.warn.mssql_containers_uncounted': {
    'zh-CN': '{name}: {count} 个 FILESTREAM / In-Memory OLTP 容器 (type 2) 未计入容量 (type-2 containers not counted: {cause})',
    en: '{name}: {count} FILESTREAM / In-Memory OLTP container(s) (type 2) not counted ({cause})',
  },
  'api.sync.warn.mssql_containers_not_read': { 'zh-CN': 'not read', en: 'not read' },
  'api.sync.warn.mssql_secondary_containers': {
    'zh-CN': '可用性组次要副本不可读 (secondary not readable)',
    en: 'the availability group secondary is not readable',
  },
  'api.sync.warn.mssql_containers_counted': {
    'zh-CN': '{name}: {kinds} 容器已按 sys.database_files 计入数据容量 (type-2 containers counted from sys.database_files)',
    en: '{name}: {kinds} container(s) counted in the data size from sys.database_files',
  },
  'api.sync.warn.list_comma': { 'zh-CN': '{first}, {rest}', en: '{first}, {rest}' },
  'api.sync.warn.mssql_kind_count': { 'zh-CN': '{count} 个 {kind}', en: '{count} {kind}' },
  'api.sync.warn.mssql_snapshot': {
    'zh-CN': '{name}: 数据库快照 (源 {source})，按磁盘实际占用计，不计入实例总量 (database snapshot of {source}: on-disk bytes, not in the estate total)',
    en: '{name}: database snapshot of {source}: measured by its bytes on disk, not in the instance total',
  },
  // Oracle (oracle.aggregate.ts, oracle.collect.ts)
  'api.sync.warn.ora_cannot_read': { 'zh-CN': '无法读取 {view} (cannot read {view}): {grant}', en: 'cannot read {view}: {grant}' },
  'api.sync.warn.ora_temp_unknown': { 'zh-CN': 'TEMP 已用空间未知 (temporary used bytes unknown): {cause}', en: 'TEMP used bytes unknown: {cause}' },
  'api.sync.warn.ora_undo_unknown': { 'zh-CN': 'UNDO 已用空间未知 (undo used bytes unknown): {cause}', en: 'UNDO used bytes unknown: {cause}' },
  'api.sync.warn.ora_no_tempfiles': {
    'zh-CN': '{name}: 临时表空间没有临时文件，溢出到磁盘的排序会失败 (temporary tablespace has no tempfiles)',
    en: '{name}: the temporary tablespace has no tempfiles: every sort that spills to disk fails',
  },
  'api.sync.warn.ora_seed': {
    'zh-CN': 'PDB$SEED 未计入: CDB 总量不是磁盘占用 (PDB$SEED is not counted: the CDB total is not the disk used)',
    en: 'PDB$SEED is not counted: the CDB total is not the disk used',
  },
  'api.sync.warn.ora_pdb_storage_unread': {
    'zh-CN': 'MAX_PDB_STORAGE 未读取，PDB 存储上限未计入 max_bytes (PDB storage limits not applied): {cause}',
    en: 'MAX_PDB_STORAGE not read: PDB storage limits are not applied to max_bytes ({cause})',
  },
  'api.sync.warn.ora_pdb_storage_near': {
    'zh-CN': '{name}: 数据文件已占 MAX_PDB_STORAGE 的 {pct}% (data files at {used} of MAX_PDB_STORAGE {limit})',
    en: '{name}: data files at {pct}% of MAX_PDB_STORAGE ({used} of {limit})',
  },
  'api.sync.warn.ora_near_max': {
    'zh-CN': '{name}: 已用 {pct}% 的最大容量 (含自动扩展上限) (used {used} of max {max} incl. autoextend)',
    en: '{name}: {pct}% of the maximum size used ({used} of {max}, autoextend included)',
  },
  'api.sync.warn.ora_pdbs_closed': {
    'zh-CN': '{pdbs}: PDB 未打开，其表空间未测量 (PDBs not open: tablespaces listed, not measured)',
    en: '{pdbs}: PDB(s) not open: their tablespaces are listed, not measured',
  },
  'api.sync.warn.ora_container_list': {
    'zh-CN': 'CONTAINER_DATA 为指定列表，列表外的 PDB 未计入 (CONTAINER_DATA is an explicit list: other PDBs are not counted). {fix}',
    en: 'CONTAINER_DATA is an explicit list: the PDBs outside it are not counted. {fix}',
  },
  // what an unreadable Oracle view under-counts (oracle.queries.ts; doctor and the permission errors)
  'doctor.oracle.uc.containers': {
    'zh-CN': '容器列表与打开状态 (container names and open state): nothing is collected',
    en: 'container names and open state: nothing is collected',
  },
  'doctor.oracle.uc.data_files': {
    'zh-CN': '表空间已分配容量 (allocated bytes of every tablespace): nothing is collected',
    en: 'allocated bytes of every tablespace: nothing is collected',
  },
  'doctor.oracle.uc.tablespaces': {
    'zh-CN': '表空间类型与块大小 (tablespace kind and block size): nothing is collected',
    en: 'tablespace kind and block size: nothing is collected',
  },
  'doctor.oracle.uc.usage_metrics': { 'zh-CN': '已用/空闲容量 (used and free bytes): nothing is collected', en: 'used and free bytes: nothing is collected' },
  'doctor.oracle.uc.temp_files': {
    'zh-CN': '临时表空间 (temporary tablespaces): nothing is collected while temp=true',
    en: 'temporary tablespaces: nothing is collected while temp=true',
  },
  'doctor.oracle.uc.v_tablespace': {
    'zh-CN': '未打开或 RESTRICTED 的 PDB 的表空间 (tablespaces of closed/RESTRICTED PDBs): collection fails while such a PDB exists',
    en: 'tablespaces of closed/RESTRICTED PDBs: the collection fails while such a PDB exists',
  },
  'doctor.oracle.uc.v_tempfile': {
    'zh-CN': '同上，区分其临时表空间 (same, telling their temporary tablespaces apart)',
    en: 'the same, telling their temporary tablespaces apart',
  },
  'doctor.oracle.uc.undo': { 'zh-CN': 'UNDO 已用空间 (undo used bytes): unknown', en: 'undo used bytes: unknown' },
  'doctor.oracle.uc.temp_free': { 'zh-CN': 'TEMP 已用空间 (temporary used bytes): unknown', en: 'temporary used bytes: unknown' },
  'doctor.oracle.uc.pdb_storage': {
    'zh-CN': 'PDB 的 MAX_PDB_STORAGE 上限 (PDB storage limits): not applied',
    en: 'PDB storage limits (MAX_PDB_STORAGE): not applied',
  },
  'doctor.oracle.uc.redo': { 'zh-CN': '空间构成: 联机 redo 日志 (composition: online redo logs): unknown', en: 'composition: online redo logs: unknown' },
  'doctor.oracle.uc.recovery_area': {
    'zh-CN': '空间构成: 快速恢复区 (composition: the fast recovery area): unknown',
    en: 'composition: the fast recovery area: unknown',
  },
  'doctor.oracle.refused_cdb': {
    'zh-CN':
      'container_mode=cdb 需要连接到 CDB 根容器 (CDB$ROOT 的服务名)，当前在 {where} (CON_ID {con_id}) (container_mode=cdb needs a session in the CDB root)',
    en: 'container_mode=cdb needs a session in the CDB root (the service name of CDB$ROOT); this session is in {where} (CON_ID {con_id})',
  },
  // an engine's refusals (oracle.engine.ts, oracle.collect.ts, sqlserver.engine.ts): what a failed sync record says
  'api.engine.ora_container_mode': {
    'zh-CN': 'container_mode 无效: {value} (auto | cdb | non_cdb)',
    en: 'container_mode is not valid: {value} (auto | cdb | non_cdb)',
  },
  'api.engine.ora_temp': { 'zh-CN': 'temp 必须是布尔值: {value}', en: 'temp must be true or false: {value}' },
  'api.engine.ora_tls_needs_tcps': {
    'zh-CN': 'Oracle TLS 设置需要 protocol: tcps (the TLS settings need protocol: tcps; plain TCP ignores them)',
    en: 'The Oracle TLS settings need protocol: tcps (plain TCP ignores them)',
  },
  'api.engine.ora_cert_dn': {
    'zh-CN': 'ssl_server_cert_dn 必须是证书的 DN，如 "CN=db.example.com,O=Example" (a certificate DN such as CN=db.example.com,O=Example)',
    en: 'ssl_server_cert_dn must be a certificate DN, such as "CN=db.example.com,O=Example"',
  },
  'api.engine.ora_wallet': {
    'zh-CN':
      'Oracle thin 模式只接受包含客户端证书和私钥的钱包：请同时提供 tls_cert 与 tls_key，或去掉 tls_ca 使用系统 CA (node-oracledb thin mode takes a CA only inside a wallet with a client certificate and key: give tls_cert and tls_key too, or remove tls_ca to verify with the system CAs)',
    en: 'node-oracledb thin mode takes a CA only inside a wallet with a client certificate and key: give tls_cert and tls_key too, or remove tls_ca to verify with the system CAs',
  },
  'api.engine.ora_service': {
    'zh-CN': 'Oracle 服务名无效: {value} (service name: letters, digits, _ . $ # -)',
    en: 'The Oracle service name is not valid: {value} (letters, digits, _ . $ # -)',
  },
  'api.engine.bad_host': { 'zh-CN': '主机名无效: {value}', en: 'The host name is not valid: {value}' },
  'api.engine.ora_con_id': { 'zh-CN': '无法识别当前容器: CON_ID={value}', en: 'The current container cannot be told: CON_ID={value}' },
  'api.engine.ora_missing_views': {
    'zh-CN': '缺少权限，无法读取 {names} (cannot read {names}). 修复 (fix): {role} 或逐个授权 (or per view, as SYS): {grants}',
    en: 'Missing grants: cannot read {names}. Fix: {role} or, per view as SYS: {grants}',
  },
  'api.engine.ora_root_only': {
    'zh-CN': '公共用户在 CDB 根容器中只能看到 CDB$ROOT，PDB 的容量会全部缺失 (common user sees only CDB$ROOT: CONTAINER_DATA not set). 修复 (fix): {fix}',
    en: 'A common user in the CDB root sees only CDB$ROOT (CONTAINER_DATA not set): every PDB would be missing. Fix: {fix}',
  },
  'api.engine.mssql_azure': {
    'zh-CN':
      '不支持 Azure SQL Database (EngineEdition 5): 没有 sys.master_files，也不能 USE 其他数据库 (Azure SQL Database is not supported: no sys.master_files, one database per connection; Azure SQL Managed Instance is)',
    en: 'Azure SQL Database (EngineEdition 5) is not supported: no sys.master_files, one database per connection (Azure SQL Managed Instance is)',
  },
  'api.engine.mssql_no_files': {
    'zh-CN': '权限不足: sys.master_files 中看不到任何数据库文件 (no file visible in sys.master_files), 请执行 {grant}',
    en: 'Not allowed: no database file is visible in sys.master_files; run {grant}',
  },
  'api.engine.mssql_no_privilege_row': { 'zh-CN': '权限检查查询没有返回结果 (privilege query returned no row)', en: 'The privilege query returned no row' },
  // a database's stored remark (database_size_stats.error / note): constant texts, served with their key (DATABASE_REMARK_KEYS)
  'db.remark.pg_no_privilege': {
    'zh-CN': '无 CONNECT 权限: no CONNECT privilege (grant CONNECT or pg_read_all_stats)',
    en: 'no CONNECT privilege (grant CONNECT or pg_read_all_stats)',
  },
  'db.remark.pg_invalid': {
    'zh-CN': '数据库无效 (DROP DATABASE 被中断，需再次 DROP): invalid database (interrupted DROP DATABASE)',
    en: 'invalid database: an interrupted DROP DATABASE (drop it again)',
  },
  'db.remark.pg_vanished': {
    'zh-CN': '无法获取大小 (数据库可能在采集期间被删除): size unavailable (dropped during collection?)',
    en: 'size unavailable (dropped during the collection?)',
  },
  'db.remark.pg_not_connectable': {
    'zh-CN': '数据库不接受连接 (ALLOW_CONNECTIONS false)，大小照常测量，无法采集表容量: does not accept connections; size measured, tables cannot be collected',
    en: 'does not accept connections (ALLOW_CONNECTIONS false): size measured, tables cannot be collected',
  },
  'db.remark.mysql_fallback': {
    'zh-CN': '缺少 PROCESS 权限，按表统计 (logical) 测量，非磁盘文件大小 (PROCESS missing: measured from table statistics, not files)',
    en: 'PROCESS missing: measured from table statistics (logical), not file sizes',
  },
  'db.remark.ora_no_datafiles': {
    'zh-CN': '未找到数据文件 (no datafiles found: created or dropped during the collection?)',
    en: 'no datafiles found (created or dropped during the collection?)',
  },
  'db.remark.mssql_used_null': {
    'zh-CN': '已用空间未知: FILEPROPERTY 或 sys.dm_db_log_space_usage 返回 NULL (used space unavailable)',
    en: 'used space unknown: FILEPROPERTY or sys.dm_db_log_space_usage returned NULL',
  },
  // a database's stored remark with values in it: stored with its key and parameters (error_msg / note_msg, 0027)
  'db.remark.ora_files_unsized': {
    'zh-CN': '{unsized}/{count} 个文件无法读取大小 (离线或丢失) (file size unknown: offline or missing)',
    en: '{unsized}/{count} file(s) could not be sized (offline or missing)',
  },
  'db.remark.ora_pdb_state': {
    'zh-CN': 'PDB 状态为 {state}，无法测量 (PDB is {state}: CDB_ views omit it)',
    en: 'the PDB is {state}: the CDB_ views omit it, so it cannot be measured',
  },
  'db.remark.mssql_no_files': {
    'zh-CN': 'sys.master_files 中看不到该库的文件，容量未知 (files not visible: {grant})',
    en: "the database's files are not visible in sys.master_files: size unknown ({grant})",
  },
  'db.remark.mssql_snapshot_unknown': {
    'zh-CN': '数据库快照的磁盘占用未知 (snapshot on-disk size unknown: {cause})',
    en: 'snapshot on-disk size unknown: {cause}',
  },
  'db.remark.mssql_no_io_row': { 'zh-CN': 'no row in sys.dm_io_virtual_file_stats', en: 'no row in sys.dm_io_virtual_file_stats' },
  'db.remark.mssql_used_space': { 'zh-CN': '已用空间: {cause}', en: 'used space: {cause}' },
  'db.remark.text': { 'zh-CN': '{text}', en: '{text}' },
  // what a size method's number means (Engine.methodNotes: the databases API's method_note, the instance page's hover text)
  'db.method_note.mysql_logical': {
    'zh-CN':
      '表统计 (DATA_LENGTH+INDEX_LENGTH)：行与索引占用的估计值，不含文件中的空闲页与预留区，通常小于磁盘文件 (table statistics: what rows and indexes use, an estimate; files also hold free and reserved pages, so the disk holds more)',
    en: 'table statistics (DATA_LENGTH+INDEX_LENGTH): what rows and indexes use, an estimate; files also hold free and reserved pages, so the disk holds more',
  },
  'db.method_note.mysql_physical': {
    'zh-CN':
      'InnoDB 表空间文件大小：磁盘实际占用，含空闲页，不含非 InnoDB 表和共享表空间中的表 (tablespace file sizes: what the disk holds, free pages included; non-InnoDB tables and shared tablespaces not counted)',
    en: 'InnoDB tablespace file sizes: what the disk holds, free pages included; non-InnoDB tables and shared tablespaces not counted',
  },
  'db.method_note.mysql_auto': {
    'zh-CN':
      'InnoDB 文件大小 + 其他表的表统计：磁盘占用；文件大于数据+索引，因为 InnoDB 按区分配并保留空闲页 (可回收部分见 free) (InnoDB file sizes plus statistics for the other tables: what the disk holds; files exceed data + index because InnoDB allocates in extents and keeps free pages — see free)',
    en: 'InnoDB file sizes plus table statistics for the other tables: what the disk holds; files exceed data + index because InnoDB allocates in extents and keeps free pages (see free)',
  },
  // table syncs (tables.service.ts and the engines' table collectors)
  'api.tables.warn.tables_unmeasured': {
    'zh-CN': '{name}: {count} 个表无法读取大小 ({count} table(s) could not be measured)',
    en: '{name}: {count} table(s) could not be measured',
  },
  'api.tables.warn.excluded': { 'zh-CN': '{count} 个数据库被排除规则排除 (excluded by rules)', en: '{count} database(s) excluded by rules' },
  'api.tables.warn.names_replaced': {
    'zh-CN': '{count} 个名称含无法保存的字符 (U+0000 或孤立代理项)，已替换为 \uFFFD (characters no store can hold, replaced)',
    en: '{count} name(s) held characters no store can hold (U+0000, a lone surrogate), replaced by \uFFFD',
  },
  'api.tables.warn.budget_cut': {
    'zh-CN':
      '{name}: 预算 {max} 表，保留最大的 {kept} 个，其余 {other} 个表合计 {bytes} 字节记为 "other" (table budget: kept the {kept} largest, {other} more summarised as "other")',
    en: '{name}: table budget {max}: kept the {kept} largest; {other} more tables, {bytes} bytes in all, summarised as "other"',
  },
  'api.tables.warn.db_error': { 'zh-CN': '{name}: {cause}', en: '{name}: {cause}' },
  'api.tables.db_not_found': { 'zh-CN': '数据库不存在 (database not found)', en: 'database not found' },
  'api.tables.tablespace_not_found': { 'zh-CN': '表空间不存在 (tablespace not found)', en: 'tablespace not found' },
  'api.tables.db_state': { 'zh-CN': '数据库状态为 {state}，无法读取表 (database is {state})', en: 'the database is {state}: its tables cannot be read' },
  'api.tables.out_of_time': {
    'zh-CN': '表级采集时间预算已用完，未采集 (table time budget exhausted: not collected this run)',
    en: 'table time budget exhausted: not collected this run',
  },
  'api.tables.nothing_collected': { 'zh-CN': '未采集到任何数据库 (nothing collected)', en: 'nothing collected' },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;

/**
 * The remarks an engine stores on a database row as constant text (error / note): the API serves each with its key
 * (`error_key`, `note_key`) so the UI shows it in the reader's language. Remarks with values in them stay text.
 */
export const DATABASE_REMARK_KEYS = [
  'db.remark.pg_no_privilege',
  'db.remark.pg_invalid',
  'db.remark.pg_vanished',
  'db.remark.pg_not_connectable',
  'db.remark.mysql_fallback',
  'db.remark.ora_no_datafiles',
  'db.remark.mssql_used_null',
  'api.tables.out_of_time',
] as const satisfies readonly (keyof typeof WARNING_MESSAGES)[];
