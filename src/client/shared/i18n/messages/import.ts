/**
 * The problems an import report lists, one per row/cell (fleet-file.ts, fleet.service.ts, lib/csv.ts), by key. zh-CN
 * is the text the report carried before these keys existed (byte for byte); the English UI renders `message_key` +
 * `params` itself, and `Accept-Language: en` gets `message` in English.
 */
export const IMPORT_MESSAGES = {
  'import.e.bool': { 'zh-CN': '"{value}" 必须是 true 或 false (true/false, yes/no, 1/0)', en: '"{value}" must be true or false (true/false, yes/no, 1/0)' },
  'import.e.tags_json': {
    'zh-CN': '以 [ 开头的标签必须是 JSON 数组 (a cell starting with [ must be a JSON array)',
    en: 'a tags cell starting with [ must be a JSON array',
  },
  'import.e.options_json': {
    'zh-CN': '必须是 JSON 对象，如 {"connect_timeout_ms": 5000} (a JSON object)',
    en: 'must be a JSON object, such as {"connect_timeout_ms": 5000}',
  },
  'import.e.csv_unterminated': { 'zh-CN': '引号未闭合 (unterminated quoted field)', en: 'unterminated quoted field' },
  'import.e.csv_after_quote': { 'zh-CN': '引号后不能有其他字符 (text after a closing quote)', en: 'text after a closing quote' },
  'import.e.empty': { 'zh-CN': '文件为空 (the file is empty)', en: 'the file is empty' },
  'import.e.unknown_column': { 'zh-CN': '未知的列 "{column}" (unknown column; known: {known})', en: 'unknown column "{column}" (known: {known})' },
  'import.e.duplicate_column': { 'zh-CN': '列 "{column}" 重复 (duplicate column)', en: 'column "{column}" appears twice' },
  'import.e.missing_column': { 'zh-CN': '缺少必需的列 "{column}" (required column missing)', en: 'required column "{column}" missing' },
  'import.e.cell_count': {
    'zh-CN': '有 {cells} 列，表头有 {header} 列 ({cells} cells, the header has {header})',
    en: '{cells} cells; the header has {header}',
  },
  'import.e.yaml_syntax': { 'zh-CN': 'YAML 语法错误 (YAML syntax): {detail}', en: 'YAML syntax error: {detail}' },
  'import.e.yaml_list': {
    'zh-CN': '需要 instances: 列表 (expected a list, or a mapping with an `instances:` list)',
    en: 'expected a list, or a mapping with an `instances:` list',
  },
  'import.e.yaml_item': { 'zh-CN': '每一项必须是映射 (each item must be a mapping)', en: 'each item must be a mapping' },
  'import.e.unknown_field': { 'zh-CN': '未知的字段 "{field}" (unknown field; known: {known})', en: 'unknown field "{field}" (known: {known})' },
  'import.e.credential_name': { 'zh-CN': '必须是凭据名称 (a credential name)', en: 'must be a credential name' },
  'import.e.credential_unknown': {
    'zh-CN': '没有这个名称的凭据 (unknown credential name; see GET /api/credentials)',
    en: 'no credential has this name (see GET /api/credentials)',
  },
  'import.e.duplicate_name': { 'zh-CN': '名称 "{name}" 与第 {row} 行重复 (duplicate of row {row})', en: 'the name "{name}" is already used by row {row}' },
  'import.e.field': { 'zh-CN': '{reason}', en: '{reason}' },
} as const satisfies Record<string, { 'zh-CN': string; en?: string }>;
