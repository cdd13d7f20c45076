/**
 * Why a connection or a collection failed, per engine: the text before the driver's own words
 * (`{detail}`), with the fix in one line where there is one. The zh-CN text of the older keys is
 * the prefix the API always used (stored records and API clients compare it); see ../messages.ts.
 * The engines pick the key (engines/*: their Verdict tables); engines/common.ts fills `{detail}`.
 */
export const CAUSE_MESSAGES = {
  // shared by every engine
  'cause.connection_refused': { 'zh-CN': '连接被拒绝: {detail}', en: 'Connection refused: {detail}' },
  'cause.connection_reset': { 'zh-CN': '连接被重置: {detail}', en: 'Connection reset: {detail}' },
  'cause.connection_closed': { 'zh-CN': '连接已断开: {detail}', en: 'Connection closed: {detail}' },
  'cause.connection_lost': { 'zh-CN': '连接中断: {detail}', en: 'Connection lost: {detail}' },
  'cause.connection_broken': { 'zh-CN': '连接异常: {detail}', en: 'Connection error: {detail}' },
  'cause.connection_failed': { 'zh-CN': '无法建立连接: {detail}', en: 'Cannot connect: {detail}' },
  'cause.network_failed': { 'zh-CN': '网络连接失败: {detail}', en: 'Network connection failed: {detail}' },
  'cause.not_open': { 'zh-CN': '连接未打开: {detail}', en: 'Connection not open: {detail}' },
  'cause.host_unknown': { 'zh-CN': '无法解析主机名: {detail}', en: 'Cannot resolve the host name: {detail}' },
  'cause.host_lookup_again': { 'zh-CN': '主机名解析暂时失败: {detail}', en: 'Host name lookup failed for now: {detail}' },
  'cause.host_unreachable': { 'zh-CN': '主机不可达: {detail}', en: 'Host unreachable: {detail}' },
  'cause.network_unreachable': { 'zh-CN': '网络不可达: {detail}', en: 'Network unreachable: {detail}' },
  'cause.connect_timeout': { 'zh-CN': '连接超时: {detail}', en: 'Connection timed out: {detail}' },
  'cause.timeout': { 'zh-CN': '超时: {detail}', en: 'Timed out: {detail}' },
  'cause.query_timeout': { 'zh-CN': '查询超时: {detail}', en: 'Query timed out: {detail}' },
  'cause.query_interrupted': { 'zh-CN': '查询被中断: {detail}', en: 'Query interrupted: {detail}' },
  'cause.request_cancelled': { 'zh-CN': '请求已取消: {detail}', en: 'Request cancelled: {detail}' },
  'cause.lock_timeout': { 'zh-CN': '锁等待超时: {detail}', en: 'Lock wait timed out: {detail}' },
  'cause.auth_failed': { 'zh-CN': '认证失败: {detail}', en: 'Authentication failed: {detail}' },
  'cause.permission': { 'zh-CN': '权限不足: {detail}', en: 'Permission denied: {detail}' },
  'cause.too_many_connections': { 'zh-CN': '连接数已满: {detail}', en: 'Too many connections: {detail}' },
  'cause.server_shutting_down': { 'zh-CN': '服务器正在关闭: {detail}', en: 'The server is shutting down: {detail}' },
  'cause.server_not_accepting': { 'zh-CN': '服务器暂不接受连接: {detail}', en: 'The server is not accepting connections yet: {detail}' },
  'cause.account_locked': { 'zh-CN': '账户已锁定: {detail}', en: 'Account locked: {detail}' },
  'cause.password_expired': { 'zh-CN': '密码已过期: {detail}', en: 'Password expired: {detail}' },
  'cause.collector_thread': {
    'zh-CN': '采集线程异常退出（下一次连接时自动重启，可重试）: {detail}',
    en: 'The collector thread stopped (it starts again at the next connection; retry): {detail}',
  },
  'cause.internal': { 'zh-CN': '采集失败: {detail}', en: 'Collection failed: {detail}' },
  'cause.bad_size': { 'zh-CN': '无法解析服务器返回的容量: {detail}', en: 'Cannot read a size the server returned: {detail}' },
  'cause.duplicate_names': {
    'zh-CN': '服务器返回了重复的数据库名，本次未保存 (the server returned a database name twice; nothing saved): {names}',
    en: 'The server returned the same database name more than once; nothing was saved: {names}',
  },
  'cause.sizes_past_safe': {
    'zh-CN': '服务器返回的 {count} 个容量合计超过 8 PiB (2^53 字节)，不可信，本次未保存 (sizes add up past 8 PiB; nothing saved)',
    en: 'The {count} sizes the server returned add up past 8 PiB (2^53 bytes), which no instance holds; nothing was saved',
  },
  'cause.name_too_long': {
    'zh-CN': '服务器返回的数据库名超过 {max} 个字符，本次未保存 (database name longer than {max} characters; nothing saved): {names}',
    en: 'The server returned a database name longer than {max} characters; nothing was saved: {names}',
  },

  // PostgreSQL: SQLSTATE 28000 covers both a missing role and a pg_hba.conf refusal; the message tells them apart.
  'cause.pg.role_missing': {
    'zh-CN': "登录角色不存在（修复：用已存在的用户名，或 CREATE ROLE <用户> LOGIN PASSWORD '…'）: {detail}",
    en: "The login role does not exist (fix: use an existing user name, or CREATE ROLE <user> LOGIN PASSWORD '…'): {detail}",
  },
  'cause.pg.hba_rejected': {
    'zh-CN': '认证失败 (pg_hba.conf 拒绝)（修复：在 pg_hba.conf 为本机地址、该用户和数据库加一行，然后 SELECT pg_reload_conf()）: {detail}',
    en: 'Authentication refused by pg_hba.conf (fix: add a line for this address, user and database to pg_hba.conf, then SELECT pg_reload_conf()): {detail}',
  },
  'cause.pg.bad_password': {
    'zh-CN': "认证失败：密码错误（修复：在凭据中改正密码，或 ALTER ROLE <用户> PASSWORD '…'）: {detail}",
    en: "Authentication failed: wrong password (fix: correct the credential's password, or ALTER ROLE <user> PASSWORD '…'): {detail}",
  },
  'cause.pg.no_database': {
    'zh-CN': '数据库不存在（修复：把实例的数据库名改为已存在的库，如 postgres）: {detail}',
    en: "The database does not exist (fix: set the instance's database name to an existing one, e.g. postgres): {detail}",
  },
  'cause.pg.auth_other': { 'zh-CN': '认证失败 (pg_hba.conf 拒绝): {detail}', en: 'Authentication refused: {detail}' },

  // MySQL / MariaDB, by errno.
  'cause.mysql.host_not_allowed': {
    'zh-CN': "该主机不允许连接（修复：CREATE USER '<用户>'@'<本机地址或 %>' 并授予权限）: {detail}",
    en: "This host is not allowed to connect (fix: CREATE USER '<user>'@'<this address or %>' and grant it the privileges): {detail}",
  },
  'cause.mysql.access_denied': {
    'zh-CN': "认证失败：用户不存在或密码错误（修复：核对用户名和密码，或 ALTER USER '<用户>'@'<主机>' IDENTIFIED BY '…'）: {detail}",
    en: "Authentication failed: no such user or wrong password (fix: check the user name and password, or ALTER USER '<user>'@'<host>' IDENTIFIED BY '…'): {detail}",
  },
  'cause.mysql.no_database': {
    'zh-CN': '数据库不存在（修复：清空实例的数据库名，或改为已存在的库）: {detail}',
    en: "Unknown database (fix: clear the instance's database name, or set an existing one): {detail}",
  },
  'cause.mysql.db_access_denied': {
    'zh-CN': "无权访问该数据库（修复：GRANT SELECT ON <库>.* TO '<用户>'@'<主机>'，或清空实例的数据库名）: {detail}",
    en: "No access to that database (fix: GRANT SELECT ON <db>.* TO '<user>'@'<host>', or clear the instance's database name): {detail}",
  },
  'cause.mysql.auth_plugin': { 'zh-CN': '认证方式不受支持: {detail}', en: 'Authentication method not supported: {detail}' },
  'cause.mysql.user_connections': { 'zh-CN': '用户连接数已满: {detail}', en: 'The user has too many connections: {detail}' },
  'cause.mysql.user_resources': { 'zh-CN': '用户资源超限: {detail}', en: 'The user exceeded a resource limit: {detail}' },
  'cause.mysql.max_statement_time': { 'zh-CN': '查询超时 (max_statement_time): {detail}', en: 'Query timed out (max_statement_time): {detail}' },
  'cause.mysql.max_execution_time': { 'zh-CN': '查询超时 (max_execution_time): {detail}', en: 'Query timed out (max_execution_time): {detail}' },

  // SQL Server: 18456's state is only in the server log unless the message carries a "Reason:".
  'cause.mssql.login_failed': {
    'zh-CN': '登录失败（修复：核对登录名和密码，并确认服务器允许 SQL Server 身份验证；原因见服务器错误日志中 18456 的 state）: {detail}',
    en: "Login failed (fix: check the login name and password, and that the server allows SQL Server authentication; the server's error log gives 18456's state): {detail}",
  },
  'cause.mssql.login_bad_password': {
    'zh-CN': "登录失败：密码错误 (18456 state 8)（修复：在凭据中改正密码，或 ALTER LOGIN <登录名> WITH PASSWORD = '…'）: {detail}",
    en: "Login failed: wrong password (18456 state 8) (fix: correct the credential's password, or ALTER LOGIN <login> WITH PASSWORD = '…'): {detail}",
  },
  'cause.mssql.login_missing': {
    'zh-CN': "登录失败：登录名不存在 (18456 state 5)（修复：CREATE LOGIN <登录名> WITH PASSWORD = '…'，或改用已有登录名）: {detail}",
    en: "Login failed: no such login (18456 state 5) (fix: CREATE LOGIN <login> WITH PASSWORD = '…', or use an existing login): {detail}",
  },
  'cause.mssql.login_disabled': {
    'zh-CN': '登录失败：登录名已禁用 (18456 state 7)（修复：ALTER LOGIN <登录名> ENABLE）: {detail}',
    en: 'Login failed: the login is disabled (18456 state 7) (fix: ALTER LOGIN <login> ENABLE): {detail}',
  },
  'cause.mssql.windows_only': {
    'zh-CN': '登录失败：服务器只允许 Windows 身份验证 (18456 state 58)（修复：启用“SQL Server 和 Windows 身份验证模式”并重启服务）: {detail}',
    en: 'Login failed: the server accepts Windows authentication only (18456 state 58) (fix: enable "SQL Server and Windows Authentication mode" and restart the service): {detail}',
  },
  'cause.mssql.cannot_open_db': {
    'zh-CN': '无法打开数据库 (4060)（修复：把实例的数据库名改为已存在的库，或 CREATE USER <用户> FOR LOGIN <登录名> 于该库）: {detail}',
    en: "Cannot open the database (4060) (fix: set the instance's database name to an existing one, or CREATE USER <user> FOR LOGIN <login> in it): {detail}",
  },
  'cause.mssql.untrusted_domain': { 'zh-CN': '登录失败 (不受信任的域): {detail}', en: 'Login failed (untrusted domain): {detail}' },
  'cause.mssql.must_change_password': { 'zh-CN': '必须修改密码: {detail}', en: 'The password must be changed: {detail}' },
  'cause.mssql.server_permission': {
    'zh-CN': '权限不足 (缺少服务器级权限，如 VIEW SERVER STATE): {detail}',
    en: 'Permission denied (a server-level permission such as VIEW SERVER STATE is missing): {detail}',
  },
  'cause.mssql.db_access': { 'zh-CN': '无权访问该数据库: {detail}', en: 'No access to that database: {detail}' },
  'cause.mssql.db_missing': { 'zh-CN': '数据库不存在: {detail}', en: 'The database does not exist: {detail}' },
  'cause.mssql.db_restoring': { 'zh-CN': '数据库正在还原，不可用: {detail}', en: 'The database is being restored: {detail}' },
  'cause.mssql.db_offline': { 'zh-CN': '数据库已脱机: {detail}', en: 'The database is offline: {detail}' },
  'cause.mssql.db_files': { 'zh-CN': '数据库文件不可访问: {detail}', en: "The database's files are not accessible: {detail}" },
  'cause.mssql.db_transition': { 'zh-CN': '数据库正在切换状态: {detail}', en: 'The database is changing state: {detail}' },
  'cause.mssql.ag_not_readable': {
    'zh-CN': '可用性组次要副本不可读 (availability group secondary not readable): {detail}',
    en: 'Availability group secondary not readable: {detail}',
  },
  'cause.mssql.ag_read_intent': {
    'zh-CN': '可用性组次要副本只接受 ApplicationIntent=ReadOnly 连接 (secondary accepts read-intent connections only): {detail}',
    en: 'The secondary accepts ApplicationIntent=ReadOnly connections only: {detail}',
  },
  'cause.mssql.instance_lookup': {
    'zh-CN': '无法通过 SQL Server Browser (UDP 1434) 找到命名实例: {detail}',
    en: 'The named instance was not found through SQL Server Browser (UDP 1434): {detail}',
  },
  'cause.mssql.encrypt_required': {
    'zh-CN': '服务器要求加密连接，请启用 encrypt 选项: {detail}',
    en: 'The server requires encryption: turn the encrypt option on: {detail}',
  },
  'cause.mssql.tds_version': { 'zh-CN': '不支持的 TDS 版本: {detail}', en: 'TDS version not supported: {detail}' },
  'cause.mssql.interface': { 'zh-CN': '不支持的服务器接口: {detail}', en: 'Server interface not supported: {detail}' },

  // Oracle: server ORA codes, and the thin driver's NJS codes for network failures.
  'cause.oracle.bad_login': {
    'zh-CN': '认证失败 (用户名或密码错误) (ORA-01017)（修复：核对用户名和密码；密码区分大小写）: {detail}',
    en: 'Authentication failed: wrong user name or password (ORA-01017) (fix: check both; passwords are case-sensitive): {detail}',
  },
  'cause.oracle.locked': {
    'zh-CN': '账户已锁定 (ORA-28000)（修复：ALTER USER <用户> ACCOUNT UNLOCK）: {detail}',
    en: 'The account is locked (ORA-28000) (fix: ALTER USER <user> ACCOUNT UNLOCK): {detail}',
  },
  'cause.oracle.unknown_service': {
    'zh-CN': '服务名未在监听器注册 (ORA-12514)（修复：改用 lsnrctl services 列出的服务名）: {detail}',
    en: 'The service name is not registered with the listener (ORA-12514) (fix: use a service name that lsnrctl services lists): {detail}',
  },
  'cause.oracle.no_listener': {
    'zh-CN': '端口上没有监听器 (ORA-12541)（修复：核对主机和端口（默认 1521），并在服务器上 lsnrctl start）: {detail}',
    en: 'No listener on that port (ORA-12541) (fix: check the host and port (1521 by default), and run lsnrctl start on the server): {detail}',
  },
  'cause.oracle.no_create_session': { 'zh-CN': '缺少 CREATE SESSION 权限: {detail}', en: 'CREATE SESSION privilege missing: {detail}' },
  'cause.oracle.no_catalog': {
    'zh-CN': '无法读取数据字典视图 (需要 SELECT_CATALOG_ROLE): {detail}',
    en: 'Cannot read the data dictionary views (SELECT_CATALOG_ROLE needed): {detail}',
  },
  'cause.oracle.cancelled': { 'zh-CN': '查询被取消 (超时): {detail}', en: 'Query cancelled (timeout): {detail}' },
  'cause.oracle.starting': { 'zh-CN': '数据库正在启动或关闭: {detail}', en: 'The database is starting up or shutting down: {detail}' },
  'cause.oracle.unavailable': { 'zh-CN': '数据库实例不可用: {detail}', en: 'The database instance is not available: {detail}' },
  'cause.oracle.ended': { 'zh-CN': '连接意外终止: {detail}', en: 'The connection ended unexpectedly: {detail}' },
  'cause.oracle.closed_by_server': { 'zh-CN': '连接被服务器关闭: {detail}', en: 'The server closed the connection: {detail}' },
  'cause.oracle.listener_refused': { 'zh-CN': '监听器拒绝连接: {detail}', en: 'The listener refused the connection: {detail}' },
  'cause.oracle.too_old': {
    'zh-CN': '不支持 Oracle 11g 及更早版本: thin 模式只能连接 12.1 及以上 (Oracle 11g and older are not supported: thin mode connects to 12.1+ only): {detail}',
    en: 'Oracle 11g and older are not supported: thin mode connects to 12.1+ only: {detail}',
  },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;
