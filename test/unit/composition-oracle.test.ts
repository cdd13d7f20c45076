/**
 * Oracle composition (issue #21 item 2) over result sets shaped exactly as
 * node-oracledb's thin mode returns them (test/helpers/oracle-rows.ts: NUMBER
 * through the driver's own wire codec, outFormat OBJECT keys): tablespaces
 * used / free / unsplit with their autoextend ceiling, undo, temp, redo
 * (V$LOG bytes × members), the recovery area (V$RECOVERY_FILE_DEST); a view
 * not granted leaves its part null with the GRANT, never 0; past 2^53 bytes
 * is refused, never rounded. Then the same through the engine's session
 * with a stand-in driver connection answering those rows.
 */
import assert from 'node:assert/strict';
import { msg, msgText, t } from '../../src/client/shared/i18n/index.js';
import { describe, it } from 'node:test';
import type { Composition, CompositionPart } from '../../src/domain/composition.js';
import type { ConnectTarget } from '../../src/engines/engine.js';
import {
  oracleComposition,
  RECOVERY_AREA_SQL,
  recoveryAreaPart,
  REDO_SQL,
  redoPart,
  tablespaceKind,
  tablespaceParts,
} from '../../src/engines/oracle/oracle.composition.js';
import { makeOracleEngine, type OracleConnection, type OracleRow } from '../../src/engines/oracle/oracle.engine.js';
import { filesSql, spacesSql } from '../../src/engines/oracle/oracle.queries.js';
import {
  AUTOEXTEND_SMALLFILE_MAX,
  fakeRun,
  file,
  GiB,
  MiB,
  nonCdbAnswers,
  num,
  ORA_00942,
  oracledb,
  oraError,
  resultSet,
  settings,
  space,
} from '../helpers/oracle-rows.js';

const part = (c: Pick<Composition, 'parts'>, kind: string): CompositionPart => {
  const p = c.parts.find((x) => x.kind === kind);
  assert.ok(p, `part ${kind}`);
  return p;
};
const USERS_USED = 10_200_547_328;

/** A non-CDB: SYSTEM, SYSAUX, USERS (one file autoextends to 8 GiB), ARCHIVE (used unknown), UNDOTBS1, TEMP; three redo groups of two members; a recovery area. */
function answers(): Map<string, OracleRow[] | Error> {
  const a = nonCdbAnswers();
  a.set(
    filesSql('dba', 'data'),
    resultSet([
      file({ ts: 'SYSTEM', bytes: GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
      file({ ts: 'SYSAUX', id: 2, bytes: 2 * GiB, max: AUTOEXTEND_SMALLFILE_MAX }),
      file({ ts: 'UNDOTBS1', id: 3, bytes: 4 * GiB }),
      file({ ts: 'USERS', id: 4, bytes: 5 * GiB, max: String(8 * GiB) }),
      file({ ts: 'USERS', id: 5, bytes: 5 * GiB }),
      file({ ts: 'ARCHIVE', id: 7, bytes: 512 * MiB }),
    ]),
  );
  a.set(
    spacesSql('dba'),
    resultSet([
      space({ ts: 'SYSTEM', contents: 'PERMANENT', used: 900 * MiB }),
      space({ ts: 'SYSAUX', contents: 'PERMANENT', used: 1536 * MiB }),
      space({ ts: 'UNDOTBS1', contents: 'UNDO', used: 4 * GiB }),
      space({ ts: 'USERS', contents: 'PERMANENT', used: USERS_USED }),
      space({ ts: 'ARCHIVE', contents: 'PERMANENT', used: null }),
      space({ ts: 'TEMP', contents: 'TEMPORARY', used: GiB }),
    ]),
  );
  a.set(
    REDO_SQL,
    resultSet(
      [1, 2, 3].map((g) => ({ GROUP_NO: num(g), THREAD_NO: num(1), BYTES: num(200 * MiB), MEMBERS: num(2), STATUS: g === 1 ? 'CURRENT' : 'INACTIVE' })),
    ),
  );
  a.set(
    RECOVERY_AREA_SQL,
    resultSet([{ NAME: '+FRA', SPACE_LIMIT: num(100 * GiB), SPACE_USED: num(37 * GiB), SPACE_RECLAIMABLE: num(5 * GiB), NUMBER_OF_FILES: num(412) }]),
  );
  return a;
}

const reason = (err: unknown) => msg('composition.reason.text', { text: String((err as Error).message) });

function assertFull(c: Composition): void {
  assert.equal(part(c, 'tablespace_used').bytes, 900 * MiB + 1536 * MiB + USERS_USED);
  assert.equal(part(c, 'tablespace_free').bytes, 124 * MiB + 512 * MiB + (10 * GiB - USERS_USED));
  assert.equal(part(c, 'allocated_unsplit').bytes, 512 * MiB);
  assert.equal(part(c, 'undo').bytes, 4 * GiB);
  assert.deepEqual(part(c, 'undo').detail!.tablespaces, { UNDOTBS1: { allocated: 4 * GiB, used: 400 * MiB, free: 4 * GiB - 400 * MiB, max: 4 * GiB } });
  assert.equal(part(c, 'temp').bytes, GiB);
  assert.equal((part(c, 'temp').detail!.tablespaces as Record<string, { used: number }>).TEMP!.used, MiB);
  assert.equal(part(c, 'redo').bytes, 3 * 200 * MiB * 2);
  assert.equal(part(c, 'recovery_area').bytes, 37 * GiB);
  assert.deepEqual(part(c, 'recovery_area').detail, { configured: true, name: '+FRA', limit_bytes: 100 * GiB, reclaimable_bytes: 5 * GiB, files: 412 });
  // Ceiling: Σ maxima — SYSTEM, SYSAUX, TEMP to 32 GiB − 1 block; USERS max(8, 5) + 5 GiB; fixed UNDOTBS1 and ARCHIVE their size.
  assert.equal(c.ceiling_bytes, 3 * Number(AUTOEXTEND_SMALLFILE_MAX) + 13 * GiB + 4 * GiB + 512 * MiB);
  assert.deepEqual([c.ceiling_source, c.disk_used_bytes, c.method], ['autoextend_max', null, 'tablespaces+v$log+v$recovery_file_dest']);
}

describe('Oracle composition over driver-shaped rows', () => {
  it('tablespaces used/free/unsplit, undo, temp, redo × members, the recovery area, the autoextend ceiling', async () => {
    const run = fakeRun(answers());
    assertFull(await oracleComposition(run, settings({ temp: false }), 19, reason));
    assert.ok(
      run.log.some((q) => q === filesSql('dba', 'temp')),
      'temp read even with the instance option temp=false',
    );
  });

  it('V$LOG and V$RECOVERY_FILE_DEST not granted: those parts null with the GRANT, the rest measured', async () => {
    const a = answers();
    a.set(REDO_SQL, ORA_00942());
    a.set(RECOVERY_AREA_SQL, oraError(1031, 'ORA-01031: insufficient privileges'));
    const c = await oracleComposition(fakeRun(a), settings(), 19, reason);
    assert.deepEqual([part(c, 'redo').bytes, part(c, 'recovery_area').bytes], [null, null]);
    assert.match(part(c, 'redo').reason!, /ORA-00942[\s\S]*GRANT SELECT ON sys\.v_\$log TO whalefall;/);
    assert.match(part(c, 'recovery_area').reason!, /ORA-01031[\s\S]*GRANT SELECT ON sys\.v_\$recovery_file_dest TO whalefall;/);
    // By key, the text next to it its zh-CN rendering (issue #20 item 2).
    const redo = part(c, 'redo');
    assert.equal(redo.reason_msg!.key, 'composition.reason.with_grant');
    assert.equal(msgText(redo.reason_msg!), redo.reason);
    assert.equal(part(c, 'undo').bytes, 4 * GiB);
  });

  it('no recovery area configured is 0, a fact; a tablespace of unknown size leaves the ceiling unknown with the reason; past 2^53 bytes is refused', async () => {
    assert.deepEqual(
      recoveryAreaPart(resultSet([{ NAME: null, SPACE_LIMIT: num(0), SPACE_USED: num(0), SPACE_RECLAIMABLE: num(0), NUMBER_OF_FILES: num(0) }])),
      { kind: 'recovery_area', bytes: 0, detail: { configured: false } },
    );
    assert.equal(redoPart([]).bytes, 0);
    // The stock fixture: ARCHIVE has a file of unknown size: named, and the ceiling unknown rather than short.
    const a = nonCdbAnswers();
    a.set(REDO_SQL, []);
    a.set(RECOVERY_AREA_SQL, []);
    const d = await oracleComposition(fakeRun(a), settings(), 19, reason);
    assert.match(String((part(d, 'allocated_unsplit').detail!.unmeasured as Record<string, string>).ARCHIVE), /file size unknown/);
    assert.equal(d.ceiling_bytes, null);
    assert.match(String(d.ceiling_detail!.reason), /ARCHIVE/);
    const ceilingMsg = d.ceiling_detail!.reason_msg as { key: string; params: Record<string, string | number> };
    assert.equal(ceilingMsg.key, 'composition.reason.ora_ceiling_unknown');
    assert.equal(t('en', ceilingMsg.key, ceilingMsg.params), '1 tablespace(s) of unknown size: ARCHIVE');
    assert.equal(d.ceiling_detail!.reason, '1 个表空间容量未知 (tablespaces of unknown size): ARCHIVE', 'zh-CN unchanged');
    // Two tablespaces whose free space adds up past 2^53 bytes: refused, never rounded.
    const half = 2 ** 52;
    const big = (name: string) => ({
      database_name: name,
      is_system: false,
      size_bytes: half + 8192,
      data_bytes: half + 8192,
      index_bytes: null,
      log_bytes: null,
      free_bytes: half,
      used_bytes: 8192,
      method: 'dba_data_files',
    });
    assert.throws(() => tablespaceParts([big('A'), big('B')]), /无法解析服务器返回的容量.*out of range/);
    assert.deepEqual(
      ['dba_data_files', 'dba_data_files+undo_extents', 'dba_temp_files+temp_free_space', 'v$tablespace'].map((method) => tablespaceKind({ method })),
      ['permanent', 'undo', 'temp', 'unknown'],
    );
  });

  it('through the engine session: the same parts from a connection answering those rows', async () => {
    const run = fakeRun(answers());
    const conn: OracleConnection = {
      callTimeout: 0,
      oracleServerVersionString: '19.22.0.0.0',
      execute: async (sql) => ({ rows: await run(sql) }),
      close: async () => {},
    };
    const engine = makeOracleEngine({ ...oracledb, getConnection: () => Promise.resolve(conn) });
    const target: ConnectTarget = {
      host: '127.0.0.1',
      port: 1521,
      database: 'ORCL',
      username: 'whalefall',
      password: 'pw',
      options: {},
      connectTimeoutMs: 1000,
      queryTimeoutMs: 1000,
    };
    const s = await engine.connect(target);
    try {
      assertFull(await s.composition!());
    } finally {
      await s.close();
    }
  });
});
