/**
 * The JSON API's answers as the browser reads them, and the request bodies and
 * queries it sends: the TypeBox schemas the routes declare (validate with) and
 * the OpenAPI document publishes (src/http/api/*.schemas.ts), read as types.
 * One definition each: a field renamed on the server fails `npm run typecheck`
 * in the page that reads or sends it.
 *
 * Types only (`import type`): esbuild drops these imports, so the bundle carries
 * no schema and no TypeBox. The schema modules import only TypeBox, src/domain/
 * and each other (see src/http/components.ts).
 */
import type { Static } from '@sinclair/typebox';
import type * as Alerts from '../../http/api/alerts.schemas.js';
import type * as Auth from '../../http/api/auth.schemas.js';
import type * as Fleet from '../../http/api/fleet.schemas.js';
import type * as Instances from '../../http/api/instances.schemas.js';
import type * as Reports from '../../http/api/reports.schemas.js';
import type * as Settings from '../../http/api/settings.schemas.js';
import type * as Statistics from '../../http/api/statistics.schemas.js';
import type * as Sync from '../../http/api/sync.schemas.js';
import type * as Tables from '../../http/api/tables.schemas.js';

type Item<T extends readonly unknown[]> = T[number];
/** `options` lists the common keys; the engine's own (GET /api/engines) are allowed beside them (additionalProperties), which TypeBox's Static leaves out. */
type WithEngineOptions<T extends { options: object }> = Omit<T, 'options'> & { options: T['options'] & Record<string, unknown> };

// Instances: the registry, one instance's databases, its engines, its connection check.
export type Instance = WithEngineOptions<Static<typeof Instances.Instance>>;
export type CertInfo = NonNullable<Instance['tls']['ca']>;
export type InstanceOverviewRow = WithEngineOptions<Item<Static<typeof Instances.InstanceOverview>['items']>>;
export type InstanceOverview = Omit<Static<typeof Instances.InstanceOverview>, 'items'> & { items: InstanceOverviewRow[] };
export type InstanceDatabase = Item<Static<typeof Instances.InstanceDatabases>['databases']>;
export type InstanceDatabases = Static<typeof Instances.InstanceDatabases>;
export type Engine = Static<typeof Instances.Engine>;
export type PrivilegeCheck = Static<typeof Instances.PrivilegeCheck>;
/** POST /api/instances/test-connection with unsaved settings: one probe and its grant check. */
export type ConnectionTest = Exclude<Static<typeof Fleet.ConnectionTests>, unknown[]>;
export type ImportReport = Static<typeof Fleet.ImportReport>;
export type ImportError = Item<ImportReport['errors']>;

// Sync sessions and records.
export type SyncSession = Static<typeof Sync.SyncSession>;
export type SyncSessionDetail = Static<typeof Sync.SyncSessionDetail>;
export type SyncSessionPage = Static<typeof Sync.SyncSessionPage>;
export type SyncRecord = Static<typeof Sync.SyncRecord>;
export type InstanceSyncRecord = Static<typeof Sync.InstanceSyncRecord>;
export type BatchStarted = Static<typeof Sync.BatchStarted>;
export type CancelResult = Static<typeof Sync.CancelResult>;

// Statistics: series, capacity, runway.
export type Series = Static<typeof Statistics.Series>;
export type SeriesPoint = Item<Series['points']>;
export type CapacityStatistics = Static<typeof Statistics.CapacityStatistics>;
export type CapacityItem = Item<CapacityStatistics['items']>;
export type CapacityPoint = Item<CapacityStatistics['total']>;
export type RunwayList = Static<typeof Statistics.RunwayList>;
export type RunwayItem = Item<RunwayList['items']>;
export type RunwayJump = Item<RunwayItem['jumps']>;

// Tables and composition.
export type TablePage = Static<typeof Tables.TablePage>;
export type TableRow = Item<TablePage['items']>;
export type TableSeries = Static<typeof Tables.TableSeries>;
export type TopGrowingTables = Static<typeof Tables.TopGrowingTables>;
export type Composition = Static<typeof Tables.Composition>;
export type CompositionPart = Item<Composition['parts']>;

// Settings, users, tokens, credentials, alerts.
export type SettingsView = Static<typeof Settings.SettingsView>;
export type EffectiveSettings = SettingsView['settings'];
export type User = Static<typeof Auth.User>;
export type Token = Static<typeof Auth.Token>;
export type TokenCreated = Static<typeof Auth.TokenCreated>;
export type Credential = Static<typeof Auth.Credential>;
export type AlertRule = Static<typeof Alerts.AlertRule>;
export type AlertChannel = Item<AlertRule['channels']>;
export type AlertEventPage = Static<typeof Alerts.AlertEventPage>;
export type AlertEventRow = Item<AlertEventPage['items']>;
export type AlertEvent = Static<typeof Alerts.AlertEvent>;
export type AlertDelivery = Item<AlertEvent['deliveries']>;

// Request bodies: the TypeBox schemas the routes validate with, as the browser builds them
// (`body satisfies CreateInstanceBody`): a field renamed on the server fails `npm run typecheck` here too.
export type CreateInstanceBody = Static<typeof Instances.CreateInstanceBody>;
export type UpdateInstanceBody = Static<typeof Instances.UpdateInstanceBody>;
export type TestConnectionsBody = Static<typeof Fleet.TestConnectionsBody>;
export type LoginBody = Static<typeof Auth.LoginBody>;
export type MyPreferencesBody = Static<typeof Auth.MyPreferencesBody>;
export type CreateTokenBody = Static<typeof Auth.CreateTokenBody>;
export type CreateUserBody = Static<typeof Auth.CreateUserBody>;
export type UpdateUserBody = Static<typeof Auth.UpdateUserBody>;
export type CreateCredentialBody = Static<typeof Auth.CreateCredentialBody>;
export type UpdateSettingsBody = Static<typeof Settings.UpdateSettingsBody>;
export type CreateAlertRuleBody = Static<typeof Alerts.CreateAlertRuleBody>;
export type UpdateAlertRuleBody = Static<typeof Alerts.UpdateAlertRuleBody>;
export type BatchSyncBody = Static<typeof Sync.BatchSyncBody>;
export type TableSyncBody = Static<typeof Tables.TableSyncBody>;
export type InstanceOverviewQuery = Static<typeof Instances.InstanceOverviewQuery>;
export type TableListQuery = Static<typeof Tables.TableListQuery>;
export type SeriesQuery = Static<typeof Statistics.SeriesQuery>;
export type DatabaseSeriesQuery = Static<typeof Statistics.DatabaseSeriesQuery>;
export type CapacityQuery = Static<typeof Statistics.CapacityQuery>;
export type RunwayQuery = Static<typeof Statistics.RunwayQuery>;
export type SyncSessionListQuery = Static<typeof Sync.SyncSessionListQuery>;
export type TopGrowingQuery = Static<typeof Tables.TopGrowingQuery>;
/** The flags default to false (absent = false): the browser sends only the true ones. */
export type ImportInstancesQuery = Partial<Static<typeof Fleet.ImportInstancesQuery>>;
export type ExportInstancesQuery = Static<typeof Fleet.ExportInstancesQuery>;
export type SyncRecordListQuery = Static<typeof Instances.SyncRecordListQuery>;
export type CompositionQuery = Static<typeof Tables.CompositionQuery>;
export type TableSeriesQuery = Static<typeof Tables.TableSeriesQuery>;
export type AlertEventListQuery = Static<typeof Alerts.AlertEventListQuery>;
export type CapacityReportQuery = Static<typeof Reports.CapacityReportQuery>;
