/**
 * A database row's stored remark (error / note) in the reader's language (issue #20 item 2): the engines' constant
 * remarks are catalogue texts, and the API serves each with its key (`error_key`, `note_key`); a remark with values
 * in it has no key and is shown as stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { remarkKey } from '../../src/services/capacity.service.js';
import { NOT_CONNECTABLE } from '../../src/engines/postgresql/postgresql.engine.js';
import { FALLBACK_NOTE } from '../../src/engines/mysql/mysql.methods.js';
import { TIME_BUDGET_EXHAUSTED } from '../../src/engines/common.js';
import { msgText, t } from '../../src/client/shared/i18n/index.js';
import { mysqlEngine } from '../../src/engines/mysql/mysql.engine.js';
import { DATABASE_REMARK_KEYS } from '../../src/client/shared/i18n/messages/warnings.js';

test('constant remarks keep their zh-CN text and are served with their key; English has no Chinese', () => {
  assert.equal(
    NOT_CONNECTABLE,
    '数据库不接受连接 (ALLOW_CONNECTIONS false)，大小照常测量，无法采集表容量: does not accept connections; size measured, tables cannot be collected',
  );
  assert.equal(FALLBACK_NOTE, '缺少 PROCESS 权限，按表统计 (logical) 测量，非磁盘文件大小 (PROCESS missing: measured from table statistics, not files)');
  assert.equal(remarkKey(NOT_CONNECTABLE), 'db.remark.pg_not_connectable');
  assert.equal(remarkKey(FALLBACK_NOTE), 'db.remark.mysql_fallback');
  assert.equal(remarkKey(TIME_BUDGET_EXHAUSTED), 'api.tables.out_of_time');
  assert.equal(remarkKey('数据库无效 (DROP DATABASE 被中断，需再次 DROP): invalid database (interrupted DROP DATABASE)'), 'db.remark.pg_invalid');
  assert.equal(t('en', remarkKey(NOT_CONNECTABLE)!), 'does not accept connections (ALLOW_CONNECTIONS false): size measured, tables cannot be collected');
  for (const k of DATABASE_REMARK_KEYS) {
    assert.equal(remarkKey(t('zh-CN', k)), k);
    assert.doesNotMatch(t('en', k), /[\u4e00-\u9fff]/, k);
  }
  assert.equal(remarkKey('1/3 个文件无法读取大小 (离线或丢失) (file size unknown: offline or missing)'), null, 'a remark with values stays text');
  assert.equal(remarkKey(null), null);
});

test("a size method's note (the hover text) is by key: zh-CN as before the keys, English without Chinese", () => {
  const notes = mysqlEngine.methodNotes!;
  assert.deepEqual(Object.keys(notes).sort(), ['information_schema', 'innodb_tablespaces', 'innodb_tablespaces+information_schema']);
  assert.equal(
    msgText(notes.information_schema!),
    '表统计 (DATA_LENGTH+INDEX_LENGTH)：行与索引占用的估计值，不含文件中的空闲页与预留区，通常小于磁盘文件 (table statistics: what rows and indexes use, an estimate; files also hold free and reserved pages, so the disk holds more)',
  );
  for (const [method, m] of Object.entries(notes)) {
    assert.match(m.key, /^db\.method_note\./, method);
    assert.doesNotMatch(msgText(m, 'en'), /[\u4e00-\u9fff]/, method);
    assert.match(msgText(m), /[\u4e00-\u9fff]/, method);
  }
});
