/**
 * The API's refusals by key: not found, bad input, not signed in / not allowed, and what the HTTP
 * layer itself refuses. The zh-CN text is the API's own `error` (the words it answered before the
 * keys, byte for byte); `en` is sent with Accept-Language: en and shown by the English UI, which
 * renders `message_key` + `params`. A validation error is `api.validation.field` with the field
 * and a reason (`api.v.*`, itself a key, or for the rarer checks the reason's text).
 */
export const ERROR_MESSAGES = {
  // signed in? allowed?
  'api.auth.required': { 'zh-CN': '请先登录 (authentication required)', en: 'Sign in first (authentication required)' },
  'api.auth.bad_token': { 'zh-CN': 'API 令牌无效、已过期或已吊销 (invalid, expired or revoked token)', en: 'The API token is invalid, expired or revoked' },
  'api.auth.logout_token': {
    'zh-CN':
      'API 令牌不是会话，退出登录不会让它失效：请用 DELETE /api/tokens/:id 吊销令牌 (a token is not a session: logging out does not revoke it; revoke it with DELETE /api/tokens/:id)',
    en: 'An API token is not a session: logging out does not revoke it. Revoke it with DELETE /api/tokens/:id',
  },
  'api.auth.csrf': {
    'zh-CN': 'CSRF 校验失败：请求缺少有效的 X-CSRFToken 头 (missing or invalid X-CSRFToken header)',
    en: 'CSRF check failed: the request lacks a valid X-CSRFToken header',
  },
  'api.auth.role': { 'zh-CN': '权限不足：需要 {role} 角色 (requires role {role})', en: 'Not allowed: requires role {role}' },
  'api.auth.no_rule': { 'zh-CN': '路由没有访问规则 (route without access rule)', en: 'Route without access rule' },
  'api.auth.credentials_required': { 'zh-CN': '请输入用户名和密码 (username and password are required)', en: 'Enter the username and password' },
  'api.auth.wrong_password': { 'zh-CN': '用户名或密码错误 (wrong username or password)', en: 'Wrong username or password' },
  'api.auth.throttled': {
    'zh-CN': '登录失败次数过多，请 {seconds} 秒后再试 (too many failed logins for this account from this address; retry in {seconds} s)',
    en: 'Too many failed logins for this account from this address: retry in {seconds} s',
  },
  'api.auth.token_from_token': {
    'zh-CN': '令牌只能在网页登录会话中创建，不能用令牌创建令牌 (tokens are created from a browser session, never with a token)',
    en: 'Tokens are created from a browser session, never with a token',
  },
  'api.auth.token_no_expiry': {
    'zh-CN': '只有管理员可以创建永不过期的令牌 (only an admin may create a token that never expires)',
    en: 'Only an admin may create a token that never expires',
  },
  'api.auth.last_admin': {
    'zh-CN': '不能降级或停用最后一个启用的管理员 (the last active admin cannot be demoted or disabled)',
    en: 'The last active admin cannot be demoted or disabled',
  },
  'api.discovery_disabled': {
    'zh-CN': '网络发现未启用：设置 WHALEFALL_DISCOVERY=on (discovery is off; set WHALEFALL_DISCOVERY=on)',
    en: 'Discovery is off: set WHALEFALL_DISCOVERY=on',
  },

  // not found
  'api.route_not_found': { 'zh-CN': '未找到 {method} {path} (not found)', en: 'Not found: {method} {path}' },
  'api.file_not_found': { 'zh-CN': '未找到 {url} (not found)', en: 'Not found: {url}' },
  'api.instance_name_not_found': { 'zh-CN': '实例 "{name}" 不存在 (instance not found)', en: 'Instance "{name}" not found' },
  'api.credential_not_found': { 'zh-CN': '凭据 {id} 不存在', en: 'Credential {id} not found' },
  'api.user_not_found': { 'zh-CN': '用户 {id} 不存在 (user not found)', en: 'User {id} not found' },
  'api.user_name_not_found': { 'zh-CN': '用户 "{name}" 不存在 (user not found)', en: 'User "{name}" not found' },
  'api.token_not_found': { 'zh-CN': '令牌 {id} 不存在或已吊销 (token not found)', en: 'Token {id} not found or already revoked' },
  'api.table_not_found': { 'zh-CN': '表 {id} 不存在 (table not found)', en: 'Table {id} not found' },
  'api.alert_rule_not_found': { 'zh-CN': '告警规则 {id} 不存在 (alert rule not found)', en: 'Alert rule {id} not found' },
  'api.alert_event_not_found': { 'zh-CN': '告警事件 {id} 不存在 (alert event not found)', en: 'Alert event {id} not found' },
  'api.alert_rule_name_used': { 'zh-CN': '告警规则名称 {name} 已存在 (name already used)', en: 'An alert rule named {name} already exists' },
  'api.database_not_found': {
    'zh-CN': '数据库 {name} 不存在 (database not found on instance {instance_id})',
    en: 'Database {name} not found on instance {instance_id}',
  },

  // conflicts and refusals of the services
  'api.credential_in_use': {
    'zh-CN': '凭据 "{name}" 正被 {count} 个实例使用，无法删除 (in use by {count} instances)',
    en: 'Credential "{name}" is used by {count} instance(s): it cannot be deleted',
  },
  'api.import_running': {
    'zh-CN': '另一个导入正在进行，请在它完成后再试 (another import is running: try again when it has finished)',
    en: 'Another import is running: try again when it has finished',
  },
  'api.import_invalid': { 'zh-CN': '{count} 处错误，未导入任何实例 ({count} errors: nothing imported)', en: '{count} error(s): nothing imported' },
  'api.import_format': {
    'zh-CN': 'format: 请用 ?format=csv|yaml 或 Content-Type text/csv、application/yaml 指明格式 (say the format)',
    en: 'format: say the format with ?format=csv|yaml or Content-Type text/csv, application/yaml',
  },

  'api.import_duplicates': {
    'zh-CN':
      '{count} 行登记的服务器已存在 ({rows})：确认后导入 (confirm_duplicates=true)，未导入任何实例 (servers already registered: confirm with confirm_duplicates=true; nothing imported)',
    en: '{count} row(s) name servers already registered ({rows}): confirm with confirm_duplicates=true; nothing imported',
  },
  'api.import_dry_run': { 'zh-CN': '预览，未保存 (dry run: nothing stored)', en: 'Dry run: nothing stored' },
  'api.import_done': {
    'zh-CN': '新增 {created}，更新 {updated}，未变 {unchanged}，停用 {disabled}',
    en: '{created} created, {updated} updated, {unchanged} unchanged, {disabled} disabled',
  },
  'api.import_too_many_rows': {
    'zh-CN':
      '导入文件有 {rows} 行，每次最多 {max} 行，请拆分文件 (the file has {rows} rows; at most {max} per import: split it, or raise WHALEFALL_IMPORT_MAX_ROWS)',
    en: 'The file has {rows} rows; at most {max} per import: split it, or raise WHALEFALL_IMPORT_MAX_ROWS',
  },
  'api.import_too_large': {
    'zh-CN': '导入文件过大，无法读取 (the file is too large to read; at most {max} rows per import)',
    en: 'The file is too large to read (at most {max} rows per import)',
  },
  'api.duplicate_server': {
    'zh-CN':
      '{address} 已登记为实例 {names}：同一台服务器再次登记需确认 (confirm_duplicate: true)，估算总容量只计一次 (this server is already registered as {names}: confirm with confirm_duplicate: true; the estate total counts it once)',
    en: '{address} is already registered as {names}: confirm with confirm_duplicate: true (the estate total counts this server once)',
  },
  'api.confirm_move': {
    'zh-CN':
      'confirm_move: 修改主机或端口后，已保存的密码将发往新地址：请确认 (confirm_move: true) 或重新输入密码 (changing host or port sends the stored password to the new address: confirm with confirm_move: true, or re-enter the password as a new credential)',
    en: 'confirm_move: changing host or port sends the stored password to the new address: confirm with confirm_move: true, or re-enter the password as a new credential',
  },
  'api.pdf_unavailable': {
    'zh-CN': '未找到 chromium（{path}），无法生成 PDF；请安装 chromium 或设置 WHALEFALL_CHROMIUM，或改用 format=html (PDF needs chromium at {path})',
    en: 'No chromium at {path}: a PDF cannot be made; install chromium or set WHALEFALL_CHROMIUM, or use format=html',
  },

  // the request itself
  'api.validation.field': { 'zh-CN': '{field}: {reason}', en: '{field}: {reason}' },
  'api.validation.invalid': { 'zh-CN': '请求参数无效 (invalid request): {detail}', en: 'Invalid request: {detail}' },
  'api.validation.unknown_field': { 'zh-CN': '{where}: 未知字段 "{field}" (unknown field)', en: '{where}: unknown field "{field}"' },
  'api.validation.enum': { 'zh-CN': '{where}: 必须是 {values} 之一 (one of the allowed values)', en: '{where}: must be one of {values}' },
  'api.validation.missing': { 'zh-CN': '{where}: 缺少必填字段 "{field}" (required)', en: '{where}: the field "{field}" is required' },
  'api.validation.type': { 'zh-CN': '{where}: 类型必须是 {type} (must be {type})', en: '{where}: must be {type}' },
  'api.validation.min_length': { 'zh-CN': '{where}: 长度不能少于 {limit} 个字符 (at least {limit} characters)', en: '{where}: at least {limit} characters' },
  'api.validation.max_length': { 'zh-CN': '{where}: 长度不能超过 {limit} 个字符 (at most {limit} characters)', en: '{where}: at most {limit} characters' },
  'api.validation.minimum': { 'zh-CN': '{where}: 不能小于 {limit} (at least {limit})', en: '{where}: must be at least {limit}' },
  'api.validation.maximum': { 'zh-CN': '{where}: 不能大于 {limit} (at most {limit})', en: '{where}: must be at most {limit}' },
  'api.validation.min_items': { 'zh-CN': '{where}: 至少 {limit} 项 (at least {limit} items)', en: '{where}: at least {limit} item(s)' },
  'api.validation.max_items': { 'zh-CN': '{where}: 最多 {limit} 项 (at most {limit} items)', en: '{where}: at most {limit} item(s)' },
  'api.validation.pattern': { 'zh-CN': '{where}: 格式不正确 (does not match the expected format)', en: '{where}: does not match the expected format' },
  'api.validation.format': { 'zh-CN': '{where}: 必须是 {format} 格式 (must be a {format})', en: '{where}: must be a {format}' },
  'api.validation.other': { 'zh-CN': '{where}: 取值无效 (invalid value: {detail})', en: '{where}: invalid value ({detail})' },

  // reasons of api.validation.field
  'api.v.required': { 'zh-CN': '不能为空 (required)', en: 'required' },
  'api.v.string': { 'zh-CN': '必须是字符串 (must be a string)', en: 'must be a string' },
  'api.v.max_chars': { 'zh-CN': '长度不能超过 {max} 个字符 (at most {max} characters)', en: 'at most {max} characters' },
  'api.v.control_chars': { 'zh-CN': '不能包含控制字符 (control characters are not allowed)', en: 'control characters are not allowed' },
  'api.v.integer': { 'zh-CN': '必须是 {min}–{max} 之间的整数 (an integer from {min} to {max})', en: 'must be an integer from {min} to {max}' },
  'api.v.one_of': { 'zh-CN': '必须是 {values} 之一 (one of {list})', en: 'must be one of {list} ({values})' },
  'api.v.boolean': { 'zh-CN': '必须是 true 或 false (a boolean)', en: 'must be true or false' },
  'api.v.bad_date': { 'zh-CN': '"{value}" 不是有效日期 (YYYY-MM-DD)', en: '"{value}" is not a valid date (YYYY-MM-DD)' },
  'api.v.from_after_to': { 'zh-CN': '开始日期不能晚于结束日期 (from must not be after to)', en: 'the start date must not be after the end date' },
  'api.v.range_too_long': { 'zh-CN': '范围不能超过 {days} 天 (range too long)', en: 'the range must not exceed {days} days' },
  'api.v.exists': { 'zh-CN': '"{name}" 已存在 (already exists)', en: '"{name}" already exists' },
  'api.v.credential_name_exists': { 'zh-CN': '凭据名称 "{name}" 已存在 (already exists)', en: 'a credential named "{name}" already exists' },
  'api.v.instance_name_exists': { 'zh-CN': '实例名称 "{name}" 已存在 (already exists)', en: 'an instance named "{name}" already exists' },
  'api.v.instance_ids_empty': {
    'zh-CN': '请至少给出一个实例 id，不带请求体则同步全部已启用的实例 (give at least one instance id, or no body for every active instance)',
    en: 'give at least one instance id, or no body for every active instance',
  },
  'api.v.db_type_locked': {
    'zh-CN':
      '实例已同步过，数据库类型 ({db_type}) 不能再改：其他类型请注册新实例 (an instance that has synced keeps its engine, {db_type}: register a new instance instead)',
    en: 'an instance that has synced keeps its engine ({db_type}): register a new instance instead',
  },
  'api.v.user_exists': { 'zh-CN': '用户 "{name}" 已存在 (already exists)', en: 'user "{name}" already exists' },
  'api.v.credential_missing': { 'zh-CN': '凭据 {id} 不存在 (credential not found)', en: 'credential {id} not found' },
  'api.v.nothing_to_change': { 'zh-CN': '没有要修改的设置 (nothing to change)', en: 'nothing to change' },
  'api.v.unknown_setting': { 'zh-CN': '未知设置 (unknown setting)', en: 'unknown setting' },
  'api.v.password_short': { 'zh-CN': '至少 8 个字符 (at least 8 characters)', en: 'at least 8 characters' },
  'api.v.password_long': { 'zh-CN': '最多 256 个字符 (at most 256 characters)', en: 'at most 256 characters' },
  'api.v.username_chars': { 'zh-CN': '只能包含字母、数字和 . _ @ - (letters, digits, . _ @ -)', en: 'letters, digits and . _ @ - only' },
  'api.v.host': { 'zh-CN': '"{host}" 不是合法的主机名或 IP 地址 (not a valid host name or IP address)', en: '"{host}" is not a valid host name or IP address' },
  'api.v.month': { 'zh-CN': '必须是 YYYY-MM 格式的月份 (a month as YYYY-MM)', en: 'must be a month as YYYY-MM' },

  'api.v.needs_database_name': { 'zh-CN': '{engine} 需要服务名/数据库名 (required for {engine})', en: '{engine} needs a service / database name' },
  'api.v.string_array': { 'zh-CN': '必须是字符串数组 (an array of strings)', en: 'must be an array of strings' },
  'api.v.max_tags': { 'zh-CN': '最多 {max} 个标签 (at most {max} tags)', en: 'at most {max} tags' },
  'api.v.patterns': { 'zh-CN': '必须是最多 {max} 个模式的数组 (an array of at most {max} patterns)', en: 'must be an array of at most {max} patterns' },
  'api.v.object': { 'zh-CN': '必须是对象 (an object)', en: 'must be an object' },
  'api.v.unknown_option': { 'zh-CN': '{engine} 不支持此选项 (unknown option; known: {known})', en: '{engine} has no such option (known: {known})' },
  'api.v.nul': { 'zh-CN': '不能包含 NUL 字符', en: 'must not contain a NUL character' },
  'api.v.databases': { 'zh-CN': '必须是 1–10000 个数据库名 (1 to 10000 database names)', en: 'must be 1 to 10000 database names' },
  'api.v.database_names': { 'zh-CN': '数据库名须为 1–512 个字符 (names of 1 to 512 characters)', en: 'database names of 1 to 512 characters' },
  'api.v.daily_only': {
    'zh-CN': '暂只支持 daily (only "daily" is available; weekly/monthly/quarterly come with aggregation)',
    en: 'only "daily" is available (weekly/monthly/quarterly come with aggregation)',
  },
  'api.v.pem': { 'zh-CN': '必须是 PEM 文本 (PEM text)', en: 'must be PEM text' },
  'api.v.pem_cert': { 'zh-CN': '不是有效的 PEM 证书 (not a PEM certificate)', en: 'not a PEM certificate' },
  'api.v.pem_key': {
    'zh-CN': '不是有效的 PEM 私钥 (not a PEM private key; encrypted keys are not supported)',
    en: 'not a PEM private key (encrypted keys are not supported)',
  },
  'api.v.cert_and_key': {
    'zh-CN': '客户端证书与私钥须同时提供 (a client certificate and its key go together)',
    en: 'a client certificate and its key go together',
  },
  'api.v.max_chars_short': { 'zh-CN': '最多 {max} 个字符 (at most {max} characters)', en: 'at most {max} characters' },
  'api.v.cron': { 'zh-CN': '必须是 cron 表达式 (a cron expression, e.g. "0 3 * * *")', en: 'must be a cron expression, e.g. "0 3 * * *"' },
  'api.v.bad_cron': { 'zh-CN': '无效的 cron 表达式 (invalid cron expression): {detail}', en: 'invalid cron expression: {detail}' },
  'api.v.rate': { 'zh-CN': '必须是 0–1000000 之间的数 (a number from 0 to 1000000)', en: 'must be a number from 0 to 1000000' },
  'api.v.currency': {
    'zh-CN': '必须是 1–8 个字母或货币符号 (1–8 letters or a currency sign, e.g. CNY)',
    en: 'must be 1–8 letters or a currency sign, e.g. CNY',
  },
  'api.v.exclusions': { 'zh-CN': '必须是 {数据库类型: [模式…]} 对象 (an object of db_type → patterns)', en: 'must be an object of db_type → patterns' },
  'api.v.unknown_db_type': { 'zh-CN': '未知数据库类型 (one of {list})', en: 'unknown database type (one of {list})' },
  'api.v.cidr': { 'zh-CN': '"{value}" 不是合法的 IPv4 CIDR (not an IPv4 CIDR range)', en: '"{value}" is not an IPv4 CIDR range' },
  'api.v.target': { 'zh-CN': '"{value}" 不是主机、IP 或 CIDR (not a host, IP or CIDR)', en: '"{value}" is not a host, IP or CIDR' },
  'api.v.targets_required': { 'zh-CN': '请给出至少一个主机、CIDR 或 host:port (at least one target)', en: 'give at least one host, CIDR or host:port' },
  'api.v.ports': { 'zh-CN': '1–64 个端口 (1 to 64 ports)', en: '1 to 64 ports' },
  'api.v.no_endpoint': { 'zh-CN': '没有可探测的地址 (no endpoint to probe)', en: 'no endpoint to probe' },
  'api.v.too_many_endpoints': {
    'zh-CN': '共 {total} 个端点，超过上限 {max} (too many endpoints; raise max_targets up to {limit} or narrow the ranges)',
    en: '{total} endpoints, over the limit of {max}: raise max_targets up to {limit} or narrow the ranges',
  },
  'api.v.selection': { 'zh-CN': '请指定实例 id、名称、标签或 all (give ids, names, a tag or all)', en: 'give instance ids, names, a tag or all' },
  'api.v.selection_or_unsaved': {
    'zh-CN': '选择实例 (ids/names/tag/all) 与未保存的设置不能同时提供 (a selection or unsaved settings, not both)',
    en: 'a selection of instances (ids/names/tag/all) or unsaved settings, not both',
  },
  'api.v.username_password': { 'zh-CN': '用户名和密码需同时提供 (username and password go together)', en: 'the username and the password go together' },
  'api.v.credential_or_password': {
    'zh-CN': '请选择凭据或填写用户名和密码 (choose a credential, or give username and password)',
    en: 'choose a credential, or give a username and password',
  },
  'api.v.alert.number': { 'zh-CN': '必须是 {min}–{max} 之间的数字 (a number from {min} to {max})', en: 'must be a number from {min} to {max}' },
  'api.v.alert.channels_array': { 'zh-CN': '必须是数组 (an array of {type, url})', en: 'must be an array of {type, url}' },
  'api.v.alert.channels_max': { 'zh-CN': '最多 10 个 (at most 10)', en: 'at most 10 channels' },
  'api.v.alert.channel_object': { 'zh-CN': '必须是 {type, url} 对象 (an object {type, url})', en: 'must be an object {type, url}' },
  'api.v.unknown_field': { 'zh-CN': '未知字段 (unknown field)', en: 'unknown field' },
  'api.v.alert.secret_signing_only': {
    'zh-CN': '只有 {types} 渠道支持签名密钥 (only signing robots take a secret)',
    en: 'only {types} channels take a signing secret',
  },
  'api.v.alert.mailto': {
    'zh-CN': '邮件渠道需要 mailto:地址[?lang=en|zh-CN] ({detail})',
    en: 'an email channel needs mailto:address[?lang=en|zh-CN] ({detail})',
  },
  'api.v.alert.url': { 'zh-CN': '不是有效的 URL (not a valid URL)', en: 'not a valid URL' },
  'api.v.alert.http_url': { 'zh-CN': '必须是 http(s) URL (must be http or https)', en: 'must be an http or https URL' },
  'api.v.alert.instance_missing': { 'zh-CN': '实例 {id} 不存在 (instance not found)', en: 'instance {id} not found' },
  'api.v.alert.required_for_kind': { 'zh-CN': '规则类型 {kind} 必须设置 (required for kind {kind})', en: 'required for rule kind {kind}' },
  'api.v.alert.growth_only': { 'zh-CN': '仅用于 growth_pct / growth_bytes (only for growth rules)', en: 'only for growth_pct / growth_bytes rules' },
  'api.v.alert.sync_failing_only': { 'zh-CN': '仅用于 sync_failing (only for sync_failing)', en: 'only for sync_failing rules' },
  'api.v.alert.no_threshold': { 'zh-CN': '规则类型 {kind} 不使用阈值 (not used by {kind})', en: 'not used by rule kind {kind}' },
  'api.v.alert.not_for_sync_failing': { 'zh-CN': '不用于 sync_failing (not used by sync_failing)', en: 'not used by sync_failing rules' },
  'api.v.alert.days_until_full_only': { 'zh-CN': '仅用于 days_until_full (only for days_until_full)', en: 'only for days_until_full rules' },
  'api.v.alert.nothing_to_change': { 'zh-CN': '没有要修改的字段 (nothing to change)', en: 'nothing to change' },
  'api.v.offset_needs_limit': { 'zh-CN': '需要同时给出 limit (offset needs limit)', en: 'offset needs limit' },

  // what the HTTP layer refuses before any route runs (framework-errors.ts)
  'api.http.invalid_json': { 'zh-CN': '请求体不是有效的 JSON (request body is not valid JSON)', en: 'The request body is not valid JSON' },
  'api.http.invalid_utf8': { 'zh-CN': '请求体不是有效的 UTF-8 (request body is not valid UTF-8)', en: 'The request body is not valid UTF-8' },
  'api.http.body_too_large': {
    'zh-CN': '请求体过大（上限 {mib} MiB） (request body too large (limit {mib} MiB))',
    en: 'The request body is too large (limit {mib} MiB)',
  },
  'api.http.media_type': {
    'zh-CN': '不支持的 Content-Type，请使用 application/json (unsupported Content-Type, use application/json)',
    en: 'Unsupported Content-Type: use application/json',
  },
  'api.http.content_length': {
    'zh-CN': '请求体长度与 Content-Length 不符 (request body size did not match Content-Length)',
    en: 'The request body size did not match Content-Length',
  },
  'api.http.bad_url': { 'zh-CN': 'URL 含有无效的编码 (the URL contains an invalid escape)', en: 'The URL contains an invalid escape' },
  'api.http.param_too_long': { 'zh-CN': 'URL 参数过长 (a URL parameter is too long)', en: 'A URL parameter is too long' },
  'api.http.bad_request': { 'zh-CN': '请求无效 (bad request: {detail})', en: 'Bad request: {detail}' },
  'api.http.request_timeout': { 'zh-CN': '请求超时 (request timeout)', en: 'Request timeout' },
  'api.http.headers_too_large': { 'zh-CN': '请求头过大 (request headers too large)', en: 'The request headers are too large' },
  'api.http.malformed': { 'zh-CN': 'HTTP 请求格式错误 (malformed HTTP request)', en: 'Malformed HTTP request' },
  'api.http.rate_limited': { 'zh-CN': '请求过于频繁，请 {seconds} 秒后再试 (too many requests)', en: 'Too many requests: try again in {seconds} s' },
  'api.http.internal': { 'zh-CN': '服务器内部错误 (internal error)，详情见服务日志', en: 'Internal error: the details are in the service log' },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;
