/**
 * Every SQL text the SQL Server database collector sends (table sizes are in
 * sqlserver.tables.ts). Per-file rows only: the arithmetic is in
 * sqlserver.aggregate.ts, where it is tested; the server adds nothing up.
 */
import { quoteName } from './sqlserver.common.js';

/**
 * Who we are talking to. EngineEdition 5 = Azure SQL Database (no
 * sys.master_files, no USE): refused at connect. ProductVersion's major
 * number decides the doctor's GRANT text (11 = 2012, 12 = 2014, 16 = 2022).
 */
export const IDENTITY = `
  SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version,
         CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
         CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
         SUSER_SNAME() AS login_name`;

/** SERVERPROPERTY('EngineEdition') of Azure SQL Database. */
export const AZURE_SQL_DATABASE = 5;

/**
 * ONE query for the whole server, one row per file (LEFT JOIN: a database
 * whose files the login may not see still has its row, with file_id NULL).
 * tempdb's current sizes come from its own sys.database_files (three-part
 * name, readable by every login): sys.master_files keeps its start-up size.
 */
export const FILES_QUERY = `
  SELECT d.database_id, d.name, d.state_desc, d.source_database_id, d.is_distributor,
         CASE WHEN d.replica_id IS NULL THEN 0 ELSE 1 END AS in_ag,
         CONVERT(nvarchar(36), d.group_database_id) AS group_database_id,
         f.file_id, f.type, CAST(f.size AS bigint) AS size_pages, f.max_size, f.growth, f.is_sparse,
         CAST(t.size AS bigint) AS current_pages
  FROM sys.databases d
  LEFT JOIN sys.master_files f ON f.database_id = d.database_id
  LEFT JOIN tempdb.sys.database_files t ON d.database_id = 2 AND t.file_id = f.file_id
  ORDER BY d.name, f.file_id`;

/**
 * FILESTREAM (filegroup FD) and memory-optimized (FX) containers of one
 * database: sys.master_files reports 0 for them ("query sys.database_files
 * for the actual size"). Read through three-part names, so no USE.
 */
export const containersQuery = (database: string): string => {
  const db = quoteName(database);
  return `SELECT f.file_id, CAST(f.size AS bigint) AS size_pages, fg.type AS filegroup_type
  FROM ${db}.sys.database_files f
  JOIN ${db}.sys.filegroups fg ON fg.data_space_id = f.data_space_id
  WHERE f.type = 2`;
};

/** Bytes a snapshot's sparse files really use on disk (VIEW SERVER STATE; 2022: VIEW SERVER PERFORMANCE STATE). */
export const snapshotDiskQuery = (ids: readonly number[]): string => {
  if (!ids.every((id) => Number.isSafeInteger(id) && id > 0)) throw new Error(`snapshot ids must be positive integers: ${ids.join(', ')}`);
  return `SELECT database_id, file_id, size_on_disk_bytes FROM sys.dm_io_virtual_file_stats(NULL, NULL) WHERE database_id IN (${ids.join(', ')})`;
};

/**
 * The local replica's role per database in a group, and whether it accepts
 * reads as a secondary (needs VIEW SERVER STATE for the DMV).
 */
export const ROLES_QUERY = `
  SELECT d.database_id, rs.role_desc, ar.secondary_role_allow_connections_desc AS secondary_allow
  FROM sys.databases d
  JOIN sys.dm_hadr_availability_replica_states rs ON rs.replica_id = d.replica_id
  JOIN sys.availability_replicas ar ON ar.replica_id = d.replica_id
  WHERE d.replica_id IS NOT NULL`;

/** FILEPROPERTY and the log DMV only speak about the current database: hence USE, scoped to this sp_executesql call. */
export const usedSpaceQuery = (name: string): string => `USE ${quoteName(name)};
  SELECT (SELECT SUM(CAST(FILEPROPERTY(name, 'SpaceUsed') AS bigint)) FROM sys.database_files WHERE type = 0) AS data_used_pages,
         (SELECT used_log_space_in_bytes FROM sys.dm_db_log_space_usage) AS log_used_bytes`;

/** VIEW SERVER PERFORMANCE STATE exists from SQL Server 2022 (16.x); older servers are not asked about it. */
export const doctorQuery = (major: number): string => `
  SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DATABASE') AS view_any_database,
         HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DEFINITION') AS view_any_definition,
         HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') AS view_server_state,
         ${major >= 16 ? "HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER PERFORMANCE STATE')" : 'CAST(NULL AS int)'} AS view_server_performance_state,
         (SELECT COUNT(*) FROM sys.databases) AS databases,
         (SELECT COUNT(*) FROM sys.databases WHERE source_database_id IS NOT NULL OR replica_id IS NOT NULL) AS needing_state,
         (SELECT COUNT(DISTINCT database_id) FROM sys.master_files) AS databases_with_files`;

export const NO_ACCESS = `SELECT name FROM sys.databases WHERE state_desc = 'ONLINE' AND HAS_DBACCESS(name) = 0 ORDER BY name`;
