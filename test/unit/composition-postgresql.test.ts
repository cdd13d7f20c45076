/**
 * PostgreSQL composition when no database could be measured: the reason lists each database with its cause, by
 * key, so the English page reads English (the list used to be pasted in as zh-CN text) and zh-CN keeps its words.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msg, msgText } from '../../src/client/shared/i18n/index.js';
import { instanceParts, type PgQuery } from '../../src/engines/postgresql/postgresql.composition.js';

const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;

test('no database measured: the per-database causes read in the page language', async () => {
  // The admin connection answers neither the slots nor pg_wal (no pg_monitor): those parts carry their own reason.
  const admin: PgQuery = {
    query: () => Promise.reject(Object.assign(new Error('permission denied for function pg_ls_waldir'), { code: '42501' })),
  };
  const dbs = [
    { database: 'app', error: msgText(msg('db.remark.pg_no_privilege')), error_msg: msg('db.remark.pg_no_privilege') },
    { database: 'broken', error: msgText(msg('db.remark.pg_invalid')), error_msg: msg('db.remark.pg_invalid') },
  ];
  const parts = await instanceParts(admin, dbs, () => msg('cause.permission'));
  const heap = parts.find((p) => p.kind === 'heap')!;
  assert.equal(heap.bytes, null);
  assert.equal(heap.reason_msg?.key, 'composition.reason.pg_none_measured');
  const en = msgText(heap.reason_msg!, 'en');
  assert.ok(!CJK.test(en), `English, got: ${en}`);
  assert.match(en, /^no database could be measured: app: .+; broken: .+$/);
  // zh-CN: the same text as before the keys (name: cause joined with "; ").
  assert.equal(heap.reason, `没有可测量的数据库 (no database could be measured): app: ${dbs[0]!.error}; broken: ${dbs[1]!.error}`);
});
