/** One line per engine: adding an engine is one folder plus one line here. */
import { SyncError } from '../lib/errors.js';
import type { DbType } from '../domain/db-type.js';
import type { Engine } from './engine.js';
import { mariadbEngine, mysqlEngine } from './mysql/mysql.engine.js';
import { oracleEngine } from './oracle/oracle.engine.js';
import { postgresqlEngine } from './postgresql/postgresql.engine.js';
import { sqlserverEngine } from './sqlserver/sqlserver.engine.js';

export const engines: Record<DbType, Engine> = {
  mysql: mysqlEngine,
  mariadb: mariadbEngine,
  postgresql: postgresqlEngine,
  sqlserver: sqlserverEngine,
  oracle: oracleEngine,
};

/** Throws for a type the types allow but storage may still hold (an older or hand-edited row). */
export function getEngine(dbType: DbType): Engine {
  const engine = Object.hasOwn(engines, dbType) ? engines[dbType] : undefined;
  if (!engine) throw new SyncError('unsupported', `不支持的数据库类型: ${String(dbType)}`);
  return engine;
}
