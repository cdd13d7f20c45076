/** Oracle: listed so instances can be registered; the collector comes in a later issue. */
import { notImplementedEngine } from '../common.js';

export const oracleEngine = notImplementedEngine({
  dbType: 'oracle',
  label: 'Oracle',
  defaultPort: 1521,
  needsDatabaseName: true,
});
