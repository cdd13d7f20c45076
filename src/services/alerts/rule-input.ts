/**
 * An alert rule as an admin sends it, checked whole (create, or current ⊕ patch on update): the fields each kind
 * needs and refuses, the channels (URLs sealed, signing secrets encrypted, a stored secret kept for the same
 * channel), the scope's instance and the name's uniqueness. Returns the columns to store.
 */
import { DB_TYPES } from '../../domain/db-type.js';
import { WINDOWS } from '../../domain/alerts.js';
import { AppError } from '../../lib/errors.js';
import { encryptSecret, type KeyRing } from '../../lib/crypto.js';
import { msg } from '../../client/shared/i18n/index.js';
import type { AlertsRepository, NewAlertRule } from '../../store/alerts.repository.js';
import type { InstancesRepository } from '../../store/instances.repository.js';
import { CHANNEL_TYPES, type ChannelType } from '../alert-delivery.service.js';
import { mailtoRecipient } from '../email.service.js';
import { bool, fail, integer, oneOf, requiredText, text } from '../validate.js';
import { channelUrl, openUrl, sealUrl, type StoredChannel } from './channel-url.js';
import { RULE_KINDS } from './rule-kinds.js';

export interface RuleInputDeps {
  repo: Pick<AlertsRepository, 'getRuleByName'>;
  instances: Pick<InstancesRepository, 'get'>;
  keys: KeyRing;
}

/** A channel as stored (alerts/channel-url.ts): the URL and the signing secret encrypted with the key ring. */
export interface Channel extends StoredChannel {
  type: ChannelType;
}

/** Channel types whose robot signs with a secret. */
const SIGNING: ReadonlySet<ChannelType> = new Set(['dingtalk', 'feishu', 'feishu_card']);

function number(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(field, msg('api.v.alert.number', { min, max }));
  return v;
}

/**
 * Validated channels. `secret` (DingTalk 加签 / Feishu signing) is encrypted
 * here; a channel given without one keeps the secret stored for the same type
 * and URL (the API never shows it, so an edit cannot send it back);
 * `secret: null` removes it.
 */
function channels(v: unknown, keys: KeyRing, stored: Channel[] = []): Channel[] {
  if (!Array.isArray(v)) fail('channels', msg('api.v.alert.channels_array'));
  if (v.length > 10) fail('channels', msg('api.v.alert.channels_max'));
  return v.map((c, i) => {
    const f = `channels[${i}]`;
    if (c === null || typeof c !== 'object' || Array.isArray(c)) fail(f, msg('api.v.alert.channel_object'));
    const o = c as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== 'type' && k !== 'url' && k !== 'url_enc' && k !== 'secret' && k !== 'secret_enc') fail(`${f}.${k}`, msg('api.v.unknown_field'));
    const type = oneOf(`${f}.type`, o.type, CHANNEL_TYPES);
    // A stored channel (re-validated on update) brings its URL encrypted.
    const url = requiredText(`${f}.url`, typeof o.url_enc === 'string' && o.url === undefined ? openUrl(keys, o.url_enc) : o.url, 2000);
    let secret_enc: string | undefined;
    if (o.secret !== undefined && o.secret !== null) {
      if (!SIGNING.has(type)) fail(`${f}.secret`, msg('api.v.alert.secret_signing_only', { types: [...SIGNING].join(' / ') }));
      const secret = requiredText(`${f}.secret`, o.secret, 200);
      secret_enc = encryptSecret(keys, secret).value;
    } else if (o.secret === undefined) {
      // Kept from storage: an already-encrypted value (re-validation of the stored rule) or the same channel's.
      // Stored URLs are encrypted with a fresh IV each: compare the clear values.
      secret_enc = typeof o.secret_enc === 'string' ? o.secret_enc : stored.find((x) => x.type === type && channelUrl(keys, x) === url)?.secret_enc;
    }
    const url_enc = sealUrl(keys, url);
    const out: Channel = secret_enc ? { type, url_enc, secret_enc } : { type, url_enc };
    if (type === 'email') {
      try {
        mailtoRecipient(url);
      } catch (err) {
        fail(`${f}.url`, msg('api.v.alert.mailto', { detail: (err as Error).message }));
      }
      return out;
    }
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      fail(`${f}.url`, msg('api.v.alert.url'));
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(`${f}.url`, msg('api.v.alert.http_url'));
    return out;
  });
}

/** Fields an admin may set; `undefined` keeps the current value on update. */
export const FIELDS = [
  'name',
  'kind',
  'instance_id',
  'db_type',
  'tag',
  'database_pattern',
  'threshold',
  'window',
  'consecutive',
  'limit_bytes',
  'is_active',
  'channels',
] as const;

/** Validate a whole rule (create, or current ⊕ patch on update); returns the columns to store. */
export async function validateRule(
  d: RuleInputDeps,
  input: Record<string, unknown>,
  selfId?: number,
  stored: Channel[] = [],
): Promise<Omit<NewAlertRule, 'created_at' | 'updated_at'>> {
  for (const k of Object.keys(input)) if (!(FIELDS as readonly string[]).includes(k)) fail(k, msg('api.v.unknown_field'));
  const name = requiredText('name', input.name, 128);
  const kind = oneOf('kind', input.kind, RULE_KINDS);
  let instanceId: number | null = null;
  if (input.instance_id !== undefined && input.instance_id !== null) {
    instanceId = integer('instance_id', input.instance_id, 1, Number.MAX_SAFE_INTEGER);
    if (!(await d.instances.get(instanceId))) fail('instance_id', msg('api.v.alert.instance_missing', { id: instanceId }));
  }
  const dbType = input.db_type === undefined || input.db_type === null ? null : oneOf('db_type', input.db_type, DB_TYPES);
  const tag = text('tag', input.tag, 64, { optional: true }) ?? null;
  const pattern = text('database_pattern', input.database_pattern, 255, { optional: true }) ?? null;
  const window = input.window === undefined || input.window === null ? null : oneOf('window', input.window, WINDOWS);
  const isActive = input.is_active === undefined ? true : bool('is_active', input.is_active);
  const chans = input.channels === undefined || input.channels === null ? [] : channels(input.channels, d.keys, stored);
  let threshold: number | null = null;
  let consecutive: number | null = null;
  let limitBytes: number | null = null;
  const need = (field: string, v: unknown) => {
    if (v === undefined || v === null) fail(field, msg('api.v.alert.required_for_kind', { kind }));
  };
  switch (kind) {
    case 'size_above':
      need('threshold', input.threshold);
      threshold = number('threshold', input.threshold, 1, Number.MAX_SAFE_INTEGER);
      break;
    case 'growth_pct':
      need('threshold', input.threshold);
      threshold = number('threshold', input.threshold, 0.001, 1_000_000);
      break;
    case 'growth_bytes':
      need('threshold', input.threshold);
      threshold = number('threshold', input.threshold, 1, Number.MAX_SAFE_INTEGER);
      break;
    case 'days_until_full':
      need('threshold', input.threshold);
      threshold = number('threshold', input.threshold, 1, 3650);
      if (input.limit_bytes !== undefined && input.limit_bytes !== null) limitBytes = integer('limit_bytes', input.limit_bytes, 1, Number.MAX_SAFE_INTEGER);
      break;
    case 'database_disappeared':
      break;
    case 'sync_failing':
      consecutive = input.consecutive === undefined || input.consecutive === null ? 3 : integer('consecutive', input.consecutive, 1, 100);
      break;
  }
  // Fields that mean nothing for the kind are refused rather than silently ignored.
  if (kind !== 'growth_pct' && kind !== 'growth_bytes' && window !== null) fail('window', msg('api.v.alert.growth_only'));
  if (kind !== 'sync_failing' && input.consecutive !== undefined && input.consecutive !== null) fail('consecutive', msg('api.v.alert.sync_failing_only'));
  if ((kind === 'database_disappeared' || kind === 'sync_failing') && input.threshold !== undefined && input.threshold !== null)
    fail('threshold', msg('api.v.alert.no_threshold', { kind }));
  if (kind === 'sync_failing' && pattern !== null) fail('database_pattern', msg('api.v.alert.not_for_sync_failing'));
  if (kind !== 'days_until_full' && input.limit_bytes !== undefined && input.limit_bytes !== null) fail('limit_bytes', msg('api.v.alert.days_until_full_only'));
  const same = await d.repo.getRuleByName(name);
  if (same && same.id !== selfId) throw new AppError('conflict', msg('api.alert_rule_name_used', { name }));
  return {
    name,
    kind,
    instance_id: instanceId,
    db_type: dbType,
    tag,
    database_pattern: pattern,
    threshold,
    window: kind === 'growth_pct' || kind === 'growth_bytes' ? (window ?? 'day') : null,
    consecutive,
    limit_bytes: limitBytes,
    is_active: isActive ? 1 : 0,
    channels: JSON.stringify(chans),
  };
}
