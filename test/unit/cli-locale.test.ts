/**
 * The CLI's language for the server's messages it prints (issue #20 item 2): WHALEFALL_LANG, else the POSIX
 * locale (LC_ALL > LC_MESSAGES > LANG); zh… is Chinese, another named language English, none / C / POSIX the
 * seed's Chinese. Errors and lines by key come out in that language.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { cliError, cliLocale, cliText } from '../../src/cli/shared.js';
import { AppError, SyncError } from '../../src/lib/errors.js';
import { msg } from '../../src/client/shared/i18n/index.js';

describe('cliLocale', () => {
  it('WHALEFALL_LANG first, then LC_ALL, LC_MESSAGES, LANG; C/POSIX/none keep Chinese', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{}, 'zh-CN'],
      [{ LANG: 'C.UTF-8' }, 'zh-CN'],
      [{ LANG: 'POSIX' }, 'zh-CN'],
      [{ LANG: 'en_US.UTF-8' }, 'en'],
      [{ LANG: 'de_DE.UTF-8' }, 'en'],
      [{ LANG: 'zh_CN.UTF-8' }, 'zh-CN'],
      [{ LANG: 'zh_TW.UTF-8' }, 'zh-CN'],
      [{ LANG: 'zh_CN.UTF-8', LC_ALL: 'en_GB.UTF-8' }, 'en'],
      [{ LANG: 'en_US.UTF-8', LC_MESSAGES: 'zh_CN.UTF-8' }, 'zh-CN'],
      [{ LANG: 'en_US.UTF-8', LC_ALL: '' }, 'en'],
      [{ LANG: 'en_US.UTF-8', WHALEFALL_LANG: 'zh-CN' }, 'zh-CN'],
      [{ LANG: 'zh_CN.UTF-8', WHALEFALL_LANG: 'en' }, 'en'],
    ];
    for (const [env, want] of cases) assert.equal(cliLocale(env), want, JSON.stringify(env));
  });
});

describe('cliText / cliError', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['WHALEFALL_LANG', 'LANG', 'LC_ALL', 'LC_MESSAGES']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('a keyed warning and a keyed error in the chosen language; a plain error as it is', () => {
    process.env.WHALEFALL_LANG = 'en';
    const w = msg('api.sync.warn.ora_seed');
    assert.equal(cliText(w), 'PDB$SEED is not counted: the CDB total is not the disk used');
    assert.equal(cliError(new AppError('not_found', msg('api.instance_not_found', { id: 7 }))), 'Instance 7 not found');
    assert.equal(cliError(new SyncError('data', msg('api.tables.db_not_found'))), 'database not found');
    assert.equal(cliError(new Error('plain')), 'plain');
    process.env.WHALEFALL_LANG = 'zh-CN';
    assert.equal(cliText(w), 'PDB$SEED 未计入: CDB 总量不是磁盘占用 (PDB$SEED is not counted: the CDB total is not the disk used)');
    assert.equal(cliError(new AppError('not_found', msg('api.instance_not_found', { id: 7 }))), '实例 7 不存在 (instance not found)');
  });
});
