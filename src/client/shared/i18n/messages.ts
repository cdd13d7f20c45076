import { COMMON_MESSAGES } from './messages/common.js';
import { INSTANCES_MESSAGES } from './messages/instances.js';
import { CAPACITY_MESSAGES } from './messages/capacity.js';
import { SYNC_MESSAGES } from './messages/sync.js';
import { SETTINGS_MESSAGES } from './messages/settings.js';
import { TABLES_MESSAGES } from './messages/tables.js';
import { API_MESSAGES } from './messages/api.js';
import { ERROR_MESSAGES } from './messages/errors.js';
import { CAUSE_MESSAGES } from './messages/causes.js';
import { DOCTOR_MESSAGES } from './messages/doctor.js';
import { RUNWAY_MESSAGES } from './messages/runway.js';
import { ALERT_MESSAGES } from './messages/alerts.js';
import { WARNING_MESSAGES } from './messages/warnings.js';
import { IMPORT_MESSAGES } from './messages/import.js';
import { COMPOSITION_MESSAGES } from './messages/composition.js';
import { STORE_FILES_MESSAGES } from './messages/store-files.js';

/**
 * Every visible string of the web UI. Add a key to its area's file in messages/ with both languages
 * (zh-CN first; English may be omitted only while drafting: it falls back to
 * Chinese). Views call `t('key')`, client modules `t('key')` from client/ui.ts.
 *
 * The keys live in messages/<area>.ts, one file per part of the UI; this module joins them.
 * The API's own messages share the catalogue (api.ts, errors.ts, causes.ts, doctor.ts): the API sends
 * `message_key` + `params` and the UI renders them in its locale.
 */
export const MESSAGES = {
  ...COMMON_MESSAGES,
  ...INSTANCES_MESSAGES,
  ...CAPACITY_MESSAGES,
  ...SYNC_MESSAGES,
  ...SETTINGS_MESSAGES,
  ...TABLES_MESSAGES,
  ...API_MESSAGES,
  ...ERROR_MESSAGES,
  ...CAUSE_MESSAGES,
  ...DOCTOR_MESSAGES,
  ...RUNWAY_MESSAGES,
  ...ALERT_MESSAGES,
  ...WARNING_MESSAGES,
  ...IMPORT_MESSAGES,
  ...COMPOSITION_MESSAGES,
  ...STORE_FILES_MESSAGES,
} as const;

export type MessageKey = keyof typeof MESSAGES;
