/** SQL Server: listed so instances can be registered; the collector comes in a later issue. */
import { notImplementedEngine } from '../common.js';

export const sqlserverEngine = notImplementedEngine({
  dbType: 'sqlserver',
  label: 'SQL Server',
  defaultPort: 1433,
  needsDatabaseName: false,
});
