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
    {
      name: 'VIEW ANY DATABASE',
      ok: p.view_any_database === 1,
      detail: `sys.databases 可见 ${p.databases} 个数据库 (databases listed)`,
      ...(p.view_any_database === 1
        ? {}
        : {
            undercounts: '只列出 master、tempdb 和本登录拥有的数据库；其余数据库会被当作已删除 (unlisted databases would be marked deleted)',
            fix: [`GRANT VIEW ANY DATABASE TO ${quoteName(login)};`],
          }),
    },
    {
      name: 'VIEW ANY DEFINITION',
      ok: definitionOk,
      detail: `sys.master_files 中可见 ${p.databases_with_files}/${p.databases} 个数据库的文件 (databases with visible files)`,
      ...(definitionOk ? {} : { undercounts: `${hidden} 个数据库的容量未知 (size unknown for ${hidden} database(s))`, fix: [grantViewDefinition(login)] }),
    },
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
  return {
    name,
    ok,
    detail: `读取 (reads) ${reads.join('; ')}${is2022 ? '; VIEW SERVER STATE also accepted' : ''}`,
    ...(ok
      ? {}
      : {
          undercounts: [
            '空间构成中数据/日志的已用与空闲及磁盘上限未知 (composition: used/unused split and volume ceiling unknown)',
            ...(usedSpace ? ['所有数据库的已用空间未知 (used space unknown everywhere)'] : []),
            ...(p.needing_state > 0 ? ['快照大小未知、可用性组角色未知 (snapshot sizes and group roles unknown)'] : []),
          ].join('; '),
          fix: [`GRANT ${name} TO ${quoteName(login)};`],
        }),
  };
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
    {
      name: 'CONNECT (each database)',
      ok: denied.length === 0,
      detail: denied.length === 0 ? '可访问所有 ONLINE 数据库 (all online databases accessible)' : `无法访问: ${denied.join(', ')}`,
      ...(denied.length === 0 ? {} : { undercounts: `${denied.length} 个数据库的已用空间未知 (used space unknown)`, fix: connectFix }),
    },
  ];
}
