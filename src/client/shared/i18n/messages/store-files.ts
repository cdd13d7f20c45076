/**
 * The CLI's backup, restore and key commands (store/backup.ts, lib/crypto.ts, services/key-rotation.ts): printed in
 * the CLI's language (cli/shared.ts cliError), Chinese first with the English in parentheses in the zh-CN text.
 */
export const STORE_FILES_MESSAGES = {
  'cli.backup.no_store': { 'zh-CN': '存储文件 {file} 不存在 (no store to back up)', en: 'The store {file} does not exist: there is nothing to back up' },
  'cli.backup.exists': { 'zh-CN': '{file} 已存在 (exists; use --force to overwrite)', en: '{file} exists: use --force to overwrite it' },
  'cli.backup.store_file': {
    'zh-CN': '{file} 是存储正在使用的文件 {target}，不能作为备份目标 (it is a file of the store: back up to another path)',
    en: '{file} is {target}, a file of the store: back up to another path',
  },
  'cli.file_is_dir': { 'zh-CN': '{file} 是一个目录，请给出文件名 (is a directory: give a file name)', en: '{file} is a directory: give a file name' },
  'cli.restore.cannot_open': { 'zh-CN': '无法打开备份文件 {file} (cannot open the backup): {cause}', en: 'Cannot open the backup {file}: {cause}' },
  'cli.restore.is_store': { 'zh-CN': '{file} 就是当前存储 (is the store itself: give a backup file)', en: '{file} is the store itself: give a backup file' },
  'cli.restore.corrupt': { 'zh-CN': '备份文件已损坏 (integrity_check: {result})', en: 'The backup is corrupt (integrity_check: {result})' },
  'cli.restore.not_whalefall': {
    'zh-CN': '{file} 不是 Whalefall 的存储备份 (not a Whalefall store: no whalefall_migrations table)',
    en: '{file} is not a Whalefall store (no whalefall_migrations table)',
  },
  'cli.restore.not_sqlite': { 'zh-CN': '{file} 不是有效的 SQLite 数据库 (not a SQLite database): {cause}', en: '{file} is not a SQLite database: {cause}' },
  'cli.keys.from_env': {
    'zh-CN':
      'WHALEFALL_SECRET_KEY 已设置，无法自动轮换 (the key comes from WHALEFALL_SECRET_KEY: set a new value there and keep the old one as a line of secret.key, then run keys rotate again)',
    en: 'The key comes from WHALEFALL_SECRET_KEY: set a new value there and keep the old one as a line of secret.key, then run keys rotate again',
  },
  'cli.keys.current': {
    'zh-CN': '密钥 {id} 是当前密钥，不能删除 (the current key cannot be removed)',
    en: 'Key {id} is the current key: it cannot be removed',
  },
  'cli.keys.no_such': { 'zh-CN': '密钥 {id} 不存在 (no such key)', en: 'No key {id} (whalefall keys list shows them)' },
  'cli.keys.not_in_file': { 'zh-CN': '密钥 {id} 不在 {file} 中 (the key is not in the key file)', en: 'Key {id} is not in {file}' },
  'cli.keys.in_use': {
    'zh-CN':
      '密钥 {id} 仍在加密 {credentials} 个凭据、{tls} 份实例 TLS 材料、{webhooks} 个 Webhook 密文，请先运行 whalefall keys rotate (key {id} still encrypts {credentials} credential(s), {tls} instance TLS material(s), {webhooks} webhook secret(s): run "whalefall keys rotate" first)',
    en: 'Key {id} still encrypts {credentials} credential(s), {tls} instance TLS material(s), {webhooks} webhook secret(s): run "whalefall keys rotate" first',
  },
} as const;
