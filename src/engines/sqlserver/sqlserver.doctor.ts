/**
 * The SQL Server privileges the collector relies on, and the GRANT text that
 * fixes each one on the version in front of us:
 * - CONNECT ANY DATABASE exists from SQL Server 2014 (12.x); on 2012 the fix
 *   is a user per database (`CREATE USER … FOR LOGIN …`).
 * - From SQL Server 2022 (16.x) the DMVs read in used-space mode
 *   (sys.dm_db_log_space_usage, sys.dm_io_virtual_file_stats) need only
 *   VIEW SERVER PERFORMANCE STATE, which is what the fix asks for and what
 *   the check accepts.
 */
import type { PrivilegeCheck } from '../engine.js';
import { check } from '../common.js';
import { msg } from '../../client/shared/i18n/index.js';
import { grantViewDefinition } from './sqlserver.aggregate.js';
import { quoteName } from './sqlserver.common.js';

export interface DoctorRow {
  view_any_database: number | null;
  view_any_definition: number | null;
  view_server_state: number | null;
  view_server_performance_state: number | null;
  databases: number;
  /** Snapshots and availability-group databases: their on-disk bytes and roles come from DMVs. */
  needing_state: number;
  databases_with_files: number;
}

export function serverChecks(p: DoctorRow, login: string): PrivilegeCheck[] {
  const hidden = p.databases - p.databases_with_files;
  // CREATE/ALTER ANY DATABASE also reveal sys.master_files: what counts is that every database's files are visible.
  const definitionOk = p.view_any_definition === 1 || hidden <= 0;
  return [
    check(
      'VIEW ANY DATABASE',
      p.view_any_database === 1,
      msg('doctor.mssql.databases_listed', { count: p.databases }),
      p.view_any_database === 1 ? {} : { undercounts: msg('doctor.mssql.databases_undercounts'), fix: [`GRANT VIEW ANY DATABASE TO ${quoteName(login)};`] },
    ),
    check(
      'VIEW ANY DEFINITION',
      definitionOk,
      msg('doctor.mssql.files_visible', { visible: p.databases_with_files, count: p.databases }),
      definitionOk ? {} : { undercounts: msg('doctor.mssql.files_undercounts', { hidden }), fix: [grantViewDefinition(login)] },
    ),
  ];
}

/**
 * The server-state DMVs: read by the nightly composition (the log's used
 * space and the volumes under the files), for snapshots' on-disk bytes and
 * group roles whenever such databases exist, and for the log in used-space
 * mode. On 2022 the narrower VIEW SERVER PERFORMANCE STATE is what is asked
 * for (and either is accepted).
 */
export function stateCheck(p: DoctorRow, major: number, login: string, usedSpace: boolean): PrivilegeCheck {
  const is2022 = major >= 16;
  const ok = p.view_server_state === 1 || (is2022 && p.view_server_performance_state === 1);
  const name = is2022 ? 'VIEW SERVER PERFORMANCE STATE' : 'VIEW SERVER STATE';
  const reads = [
    'sys.dm_db_log_space_usage, sys.dm_os_volume_stats (composition: log used/unused, the volume ceiling)',
    ...(usedSpace ? ['sys.dm_db_log_space_usage (used-space mode)'] : []),
    ...(p.needing_state > 0 ? [`sys.dm_io_virtual_file_stats / sys.dm_hadr_* (${p.needing_state} snapshot or availability-group database(s))`] : []),
  ];
  // The composition always needs it; used-space mode and snapshots / group roles add to what a missing grant hides.
  const missed =
    usedSpace && p.needing_state > 0
      ? 'doctor.mssql.state_both'
      : usedSpace
        ? 'doctor.mssql.state_used_space'
        : p.needing_state > 0
          ? 'doctor.mssql.state_snapshots'
          : 'doctor.mssql.state_composition';
  return check(
    name,
    ok,
    msg(is2022 ? 'doctor.mssql.state_reads_2022' : 'doctor.mssql.state_reads', { reads: reads.join('; ') }),
    ok ? {} : { undercounts: msg(missed), fix: [`GRANT ${name} TO ${quoteName(login)};`] },
  );
}

/** The checks of used-space mode; `denied` = ONLINE databases this login has no user in. */
export function usedSpaceChecks(major: number, login: string, denied: readonly string[]): PrivilegeCheck[] {
  const who = quoteName(login);
  const connectFix =
    major >= 12
      ? [`GRANT CONNECT ANY DATABASE TO ${who};`]
      : // SQL Server 2012 has no CONNECT ANY DATABASE: one user per database.
        denied.map((db) => `USE ${quoteName(db)}; CREATE USER ${who} FOR LOGIN ${who};`);
  return [
    check(
      'CONNECT (each database)',
      denied.length === 0,
      denied.length === 0 ? msg('doctor.mssql.connect_all') : msg('doctor.mssql.connect_denied', { databases: denied.join(', ') }),
      denied.length === 0 ? {} : { undercounts: msg('doctor.mssql.connect_undercounts', { count: denied.length }), fix: connectFix },
    ),
  ];
}
