/**
 * Where an Oracle database's bytes went (the current container: a non-CDB,
 * a PDB, or every container from the CDB root, as the collector reads).
 * Disjoint parts (they stack):
 *
 * - `tablespace_used`, `tablespace_free`: permanent tablespaces' allocated
 *   bytes split by used (the collector's own per-file arithmetic:
 *   DBA_DATA_FILES ⋈ DBA_TABLESPACE_USAGE_METRICS), each with its
 *   autoextend maximum in `detail`;
 * - `allocated_unsplit`: permanent tablespaces whose used space is unknown
 *   (their allocated bytes, counted, not split), plus the unmeasured ones
 *   named with their reason;
 * - `undo`: undo tablespaces' files (used = ACTIVE + UNEXPIRED extents in
 *   `detail`; EXPIRED is reusable at once);
 * - `temp`: temporary tablespaces' tempfiles (used from DBA_TEMP_FREE_SPACE);
 * - `redo`: online redo logs, V$LOG BYTES × MEMBERS per group (SELECT on
 *   SYS.V_$LOG);
 * - `recovery_area`: V$RECOVERY_FILE_DEST SPACE_USED (archived logs,
 *   backups, flashback logs), its limit and reclaimable bytes in `detail`
 *   (SELECT on SYS.V_$RECOVERY_FILE_DEST); none configured is 0, a fact.
 *
 * The ceiling: Σ of every tablespace's maximum (autoextend, lowered on 18c+
 * by TABLESPACE_SIZE), the figure the instance total grows toward.
 * A view that cannot be read leaves its part null with the reason and the
 * GRANT, never 0. The arithmetic is pure and unit-tested.
 */
import { bytes, why } from '../common.js';
import { msg, msgText, type Msg } from '../../client/shared/i18n/index.js';
import type { CollectedDatabase } from '../../domain/collection.js';
import type { Composition, CompositionPart } from '../../domain/composition.js';
import { text } from './oracle.aggregate.js';
import { collectTablespaces, type OracleSettings } from './oracle.collect.js';
import type { OracleRow, Run } from './oracle.driver.js';
import { COMPOSITION_VIEWS, directGrant } from './oracle.queries.js';

export const COMPOSITION_METHOD = 'tablespaces+v$log+v$recovery_file_dest';
export const CEILING_SOURCE = 'autoextend_max';

/** One row per online redo log group; each member is a copy of the group's BYTES. */
export const REDO_SQL = 'SELECT group# AS group_no, thread# AS thread_no, bytes, members, status FROM v$log';

/** The fast recovery area: no row (or a NULL name) when none is configured. */
export const RECOVERY_AREA_SQL = 'SELECT name, space_limit, space_used, space_reclaimable, number_of_files FROM v$recovery_file_dest';

export type TablespaceKind = 'permanent' | 'undo' | 'temp' | 'unknown';

/** The kind of a collected tablespace row, from the method the collector recorded for it (oracle.aggregate.ts tablespaceRow). */
export function tablespaceKind(d: Pick<CollectedDatabase, 'method'>): TablespaceKind {
  if (d.method.endsWith('+undo_extents')) return 'undo';
  if (d.method.includes('_temp_files')) return 'temp';
  if (d.method.endsWith('_data_files')) return 'permanent';
  return 'unknown'; // a closed PDB's tablespace, listed from the control file
}

const n = (v: unknown, what: string): number => bytes(v, what) ?? 0;

/**
 * The tablespace parts and the autoextend ceiling, from the collector's rows.
 * Sums in BigInt; one past 2^53 bytes is refused (a `data` error), never rounded.
 */
export function tablespaceParts(rows: readonly CollectedDatabase[]): {
  parts: CompositionPart[];
  ceiling_bytes: number | null;
  ceiling_detail: Record<string, unknown> | null;
} {
  const sum = { used: 0n, free: 0n, unsplit: 0n, undo: 0n, temp: 0n, ceiling: 0n };
  const per = {
    used: {} as Record<string, unknown>,
    free: {} as Record<string, number>,
    unsplit: {} as Record<string, number>,
    undo: {} as Record<string, unknown>,
    temp: {} as Record<string, unknown>,
  };
  const unmeasured: Record<string, string> = {};
  for (const d of rows) {
    const kind = tablespaceKind(d);
    if (d.size_bytes === null || kind === 'unknown') {
      unmeasured[d.database_name] = d.error ?? msgText(msg('composition.reason.ora_size_unknown'));
      continue;
    }
    sum.ceiling += BigInt(d.max_bytes ?? d.size_bytes);
    const facts = { allocated: d.size_bytes, used: d.used_bytes, free: d.free_bytes, max: d.max_bytes ?? null };
    if (kind === 'undo' || kind === 'temp') {
      sum[kind] += BigInt(d.size_bytes);
      per[kind][d.database_name] = facts;
    } else if (d.used_bytes === null || d.free_bytes === null) {
      sum.unsplit += BigInt(d.size_bytes);
      per.unsplit[d.database_name] = d.size_bytes;
    } else {
      sum.used += BigInt(d.used_bytes);
      sum.free += BigInt(d.free_bytes);
      per.used[d.database_name] = facts;
      per.free[d.database_name] = d.free_bytes;
    }
  }
  const b = (v: bigint, what: string) => bytes(v, what)!;
  const names = Object.keys(unmeasured);
  return {
    parts: [
      { kind: 'tablespace_used', bytes: b(sum.used, 'tablespace_used'), detail: { tablespaces: per.used } },
      { kind: 'tablespace_free', bytes: b(sum.free, 'tablespace_free'), detail: { tablespaces: per.free } },
      { kind: 'allocated_unsplit', bytes: b(sum.unsplit, 'allocated_unsplit'), detail: { tablespaces: per.unsplit, ...(names.length ? { unmeasured } : {}) } },
      { kind: 'undo', bytes: b(sum.undo, 'undo'), detail: { tablespaces: per.undo } },
      { kind: 'temp', bytes: b(sum.temp, 'temp'), detail: { tablespaces: per.temp } },
    ],
    // A tablespace of unknown size would make the sum a guess.
    ceiling_bytes: names.length ? null : b(sum.ceiling, 'ceiling'),
    ceiling_detail: names.length ? why(msg('composition.reason.ora_ceiling_unknown', { count: names.length, names: names.join(', ') })) : null,
  };
}

/** V$LOG: every group's BYTES × MEMBERS. */
export function redoPart(rows: readonly OracleRow[]): CompositionPart {
  const groups = rows.map((r) => {
    const size = n(r.BYTES, 'v$log bytes');
    const members = n(r.MEMBERS, 'v$log members');
    return { group: n(r.GROUP_NO, 'group#'), thread: n(r.THREAD_NO, 'thread#'), bytes: size, members, status: text(r.STATUS) };
  });
  return { kind: 'redo', bytes: groups.reduce((a, g) => a + g.bytes * g.members, 0), detail: { groups } };
}

/** V$RECOVERY_FILE_DEST: SPACE_USED, with its limit and what may be deleted. */
export function recoveryAreaPart(rows: readonly OracleRow[]): CompositionPart {
  const r = rows[0];
  if (!r || r.NAME == null || text(r.NAME) === '') return { kind: 'recovery_area', bytes: 0, detail: { configured: false } };
  return {
    kind: 'recovery_area',
    bytes: n(r.SPACE_USED, 'space_used'),
    detail: {
      configured: true,
      name: text(r.NAME),
      limit_bytes: n(r.SPACE_LIMIT, 'space_limit'),
      reclaimable_bytes: n(r.SPACE_RECLAIMABLE, 'space_reclaimable'),
      files: n(r.NUMBER_OF_FILES, 'number_of_files'),
    },
  };
}

/**
 * Read everything; each part's failure is that part's alone (`reason`
 * classifies the error). The tablespaces come from the collector itself, so
 * its grants and scope rules apply unchanged.
 */
export async function oracleComposition(run: Run, settings: OracleSettings, major: number, reason: (err: unknown) => Msg): Promise<Composition> {
  const parts: CompositionPart[] = [];
  let ceiling: { ceiling_bytes: number | null; ceiling_detail: Record<string, unknown> | null };
  try {
    const { databases } = await collectTablespaces(run, { ...settings, temp: true }, major);
    const t = tablespaceParts(databases);
    parts.push(...t.parts);
    ceiling = { ceiling_bytes: t.ceiling_bytes, ceiling_detail: t.ceiling_detail };
  } catch (err) {
    const cause = why(reason(err));
    for (const kind of ['tablespace_used', 'tablespace_free', 'allocated_unsplit', 'undo', 'temp']) parts.push({ kind, bytes: null, detail: null, ...cause });
    ceiling = { ceiling_bytes: null, ceiling_detail: { ...cause } };
  }
  try {
    parts.push(redoPart(await run(REDO_SQL)));
  } catch (err) {
    parts.push({
      kind: 'redo',
      bytes: null,
      detail: null,
      ...why(msg('composition.reason.with_grant', { cause: reason(err), grant: directGrant(COMPOSITION_VIEWS.redo, 'dba', settings.user) })),
    });
  }
  try {
    parts.push(recoveryAreaPart(await run(RECOVERY_AREA_SQL)));
  } catch (err) {
    parts.push({
      kind: 'recovery_area',
      bytes: null,
      detail: null,
      ...why(msg('composition.reason.with_grant', { cause: reason(err), grant: directGrant(COMPOSITION_VIEWS.recoveryArea, 'dba', settings.user) })),
    });
  }
  return { parts, ...ceiling, ceiling_source: ceiling.ceiling_bytes === null ? null : CEILING_SOURCE, disk_used_bytes: null, method: COMPOSITION_METHOD };
}
