/**
 * Exclusion rules (settings per engine, and per instance) apply before
 * saving: an excluded database is not stored, not counted, and — being still
 * present on the server — never marked deleted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { compileGlob, globMatches } from '../../src/lib/glob.js';
import { t } from '../../src/client/shared/i18n/index.js';
import { newTestApp, newTestContext, type TestContext } from '../helpers/context.js';
import { pgAdmin, uniqueName } from '../helpers/targets.js';

const actor = { userId: null, username: 'test' };

describe('glob patterns', () => {
  const m = globMatches;
  it('* and % match any run, ? one character, the rest is literal', () => {
    assert.ok(m('tmp_%', 'tmp_2024'));
    assert.ok(!m('tmp_%', 'tmpX2024'), '_ is literal');
    assert.ok(m('ReportServer*', 'ReportServerTempDB'));
    assert.ok(m('db?', 'db1') && !m('db?', 'db12'));
    assert.ok(m('a.b', 'a.b') && !m('a.b', 'axb'), 'regex characters are literal');
    assert.ok(m('*', '') && m('%%', 'x') && !m('', 'x') && m('', ''));
    assert.ok(m('a*b*c', 'aXbYc') && m('a*b*c', 'abc') && !m('a*b*c', 'acb') && !m('ab*ba', 'aba'));
    assert.ok(m('?*?', 'ab') && !m('?*?', 'a') && m('*?x', 'yx') && m('é?', 'éñ'), '? is one code point');
  });

  it('agrees with a reference matcher on random names and patterns', () => {
    // Reference: the textbook dynamic program (quadratic, obviously correct).
    const ref = (p: string, s: string) => {
      const P = Array.from(p),
        S = Array.from(s);
      let row = new Array<boolean>(S.length + 1).fill(false);
      row[0] = true;
      for (const c of P) {
        const next = new Array<boolean>(S.length + 1).fill(false);
        if (c === '*' || c === '%') {
          let any = false;
          for (let j = 0; j <= S.length; j++) next[j] = any ||= row[j]!;
        } else for (let j = 1; j <= S.length; j++) next[j] = row[j - 1]! && (c === '?' || c === S[j - 1]);
        row = next;
      }
      return row[S.length]!;
    };
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const pick = (alphabet: string, len: number) => Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
    for (let i = 0; i < 5000; i++) {
      const p = pick('ab*%?', rnd(7));
      const s = pick('ab', rnd(9));
      assert.equal(m(p, s), ref(p, s), `${JSON.stringify(p)} vs ${JSON.stringify(s)}`);
    }
  });

  it('a 64-character name against a ten-star pattern takes well under 50 ms (no backtracking)', () => {
    const name = 'a'.repeat(64);
    const pattern = 'a*'.repeat(10) + 'b';
    const t0 = performance.now();
    const test = compileGlob(pattern);
    assert.equal(test(name), false);
    assert.equal(m('*a*a*a*a*a*a*a*a*a*a*', name), true);
    const ms = performance.now() - t0;
    assert.ok(ms < 50, `${ms.toFixed(1)} ms`);
  });
});

describe('exclusion rules on a real PostgreSQL', () => {
  let ctx: TestContext;
  let admin: pg.Client;
  const keep = uniqueName('excl_keep');
  const skip = uniqueName('excl_skip');
  let instanceId: number;
  const dbs = async () => ctx.capacity.databases(instanceId).then((r) => r.databases);
  /**
   * The databases a sync marked deleted, from the stored list before and after it. The instance is the whole local
   * server, where files running beside this one drop their own databases meanwhile: those are counted as deleted, and
   * must be gone from the server (names are never reused); ours never.
   */
  async function deletedBy(before: { database_name: string; is_deleted: boolean }[], deletedCount: number) {
    const was = new Map(before.map((d) => [d.database_name, d.is_deleted]));
    const deleted = (await dbs()).filter((d) => d.is_deleted && was.get(d.database_name) === false).map((d) => d.database_name);
    assert.equal(deletedCount, deleted.length, 'the count is what the sync marked deleted');
    const still = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [deleted]);
    assert.deepEqual(
      still.rows.map((r) => r.datname),
      [],
      'only databases the server no longer has are marked deleted',
    );
    return deleted;
  }

  before(async () => {
    ctx = await newTestContext('sqlite');
    admin = await pgAdmin();
    for (const n of [keep, skip]) await admin.query(`CREATE DATABASE ${n}`);
    const cred = await ctx.credentials.create({ name: 'pg', username: 'postgres', password: 'x' }, actor);
    instanceId = (await ctx.instances.create({ name: 'pg', db_type: 'postgresql', host: '127.0.0.1', credential_id: cred.id }, actor)).id;
  });
  after(async () => {
    for (const n of [keep, skip]) await admin?.query(`DROP DATABASE IF EXISTS ${n}`);
    await admin?.end();
    await ctx?.cleanup();
  });

  it('a rule added later stops collecting the database without marking it deleted', async () => {
    await ctx.capacitySync.syncInstance(instanceId, actor);
    assert.ok((await dbs()).some((d) => d.database_name === skip && !d.is_deleted));

    await ctx.settings.update({ exclusions: { postgresql: ['wf_t_excl_skip_*'] } }, actor);
    // A database another file drops while this sync lists it is listed unmeasured: a second warning beside the
    // exclusion's, and the instance's warning is then the list of both. Sync again then (a few times at most).
    let before = await dbs();
    let r = await ctx.capacitySync.syncInstance(instanceId, actor);
    for (let i = 0; i < 4 && r.data.warnings.length > 1; i++) {
      before = await dbs();
      r = await ctx.capacitySync.syncInstance(instanceId, actor);
    }
    // On a server nobody else touched meanwhile: deleted_count 0.
    assert.ok(!(await deletedBy(before, r.data.deleted_count)).includes(skip), 'excluded is not deleted');
    assert.ok(r.data.warnings.some((w) => /excluded by rules/.test(w)));
    const row = (await dbs()).find((d) => d.database_name === skip)!;
    assert.equal(row.is_deleted, false);
    assert.ok(row.size_bytes! > 0);
    const inst = await ctx.instances.get(instanceId);
    // Every other database of the server as this sync measured it, not the first total minus the excluded one: other
    // tests create and drop databases on this server between the two syncs.
    const others = (await dbs()).filter((d) => !d.is_deleted && d.database_name !== skip).reduce((s, d) => s + (d.size_bytes ?? 0), 0);
    assert.equal(inst.total_size_bytes, others, 'the excluded database no longer counts in the total');
    // The warning is kept by key too: the English UI shows it in English, the zh-CN UI as the API's text.
    assert.equal(inst.last_sync_error_key, 'api.sync.excluded');
    assert.equal(t('en', inst.last_sync_error_key, inst.last_sync_error_params ?? undefined), '1 database(s) excluded by rules');
    assert.equal(t('zh-CN', inst.last_sync_error_key, inst.last_sync_error_params ?? undefined), inst.last_sync_error);

    // 同步容量 through the seed's route: the warnings in the request's language, each with its key.
    const { app, callers } = await newTestApp(ctx);
    try {
      const sync = async (lang: string) => {
        const res = await app.inject({
          method: 'POST',
          url: `/database-sizes/instances/${instanceId}/sync-capacity`,
          headers: { ...callers.operator.headers(true), 'accept-language': lang },
        });
        assert.equal(res.statusCode, 200, res.body);
        return res.json().data as { warnings: string[]; warning_msgs: { key: string }[] };
      };
      const en = await sync('en');
      const i = en.warning_msgs.findIndex((m) => m.key === 'api.sync.excluded');
      assert.ok(i >= 0, JSON.stringify(en));
      assert.equal(en.warnings[i], '1 database(s) excluded by rules');
      assert.equal(en.warnings.length, en.warning_msgs.length);
      const zh = await sync('zh-CN');
      assert.ok(zh.warnings.includes('1 个数据库被排除规则排除 (excluded by rules)'), JSON.stringify(zh.warnings));
    } finally {
      await app.close();
    }
  });

  it('an instance rule works the same, and a database never collected is never stored', async () => {
    await ctx.settings.update({ exclusions: null }, actor);
    const other = uniqueName('excl_never');
    await admin.query(`CREATE DATABASE ${other}`);
    try {
      await ctx.instances.update(instanceId, { options: { exclude: ['wf_t_excl_never_%', 'wf_t_excl_skip_%'] } }, actor);
      const before = await dbs();
      const r = await ctx.capacitySync.syncInstance(instanceId, actor);
      const deleted = await deletedBy(before, r.data.deleted_count);
      assert.deepEqual(
        deleted.filter((n) => [keep, skip, other].includes(n)),
        [],
      );
      const list = await dbs();
      assert.ok(!list.some((d) => d.database_name === other), 'never stored');
      assert.ok(list.some((d) => d.database_name === keep));
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${other}`);
    }
  });

  it('bad rules are refused with the field named, nothing stored', async () => {
    await assert.rejects(ctx.settings.update({ exclusions: { nosuch: ['x'] } }, actor), /exclusions\.nosuch/);
    await assert.rejects(ctx.settings.update({ exclusions: { mysql: 'tmp_%' } }, actor), /exclusions\.mysql/);
    await assert.rejects(ctx.instances.update(instanceId, { options: { exclude: [''] } }, actor), /options\.exclude\[0\]/);
    await assert.rejects(ctx.instances.update(instanceId, { options: { method: 'physical' } }, actor), /options\.method: PostgreSQL 不支持此选项/);
    assert.deepEqual((await ctx.settings.effective()).exclusions, {});
  });
});
