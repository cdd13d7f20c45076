/**
 * Webhook URLs at rest: encrypted with the credentials' key ring (their tokens — `?access_token=…`, Slack's
 * path, a basic-auth password — are secrets), opened only to send, shown and logged masked (`maskUrl`).
 * A rule's channel is stored `{type, url_enc, secret_enc?}`; a delivery row's `url` is the same ciphertext.
 * A clear URL (written before migration 0019, or by an older process during a rolling upgrade) still reads.
 */
import { decryptSecret, encryptSecret, type KeyRing } from '../../lib/crypto.js';

/** A channel as stored in `alert_rules.channels`. */
export interface StoredChannel {
  type: string;
  /** The URL, encrypted (`v1:…`). */
  url_enc?: string;
  /** Only in rows not yet sealed (before 0019). */
  url?: string;
  /** The signing secret (DingTalk 加签, Feishu), encrypted. */
  secret_enc?: string;
}

const SEALED = /^v1:/;

export function sealUrl(keys: KeyRing, url: string): string {
  return encryptSecret(keys, url).value;
}

/** The clear URL of a stored value (a sealed one decrypted; throws SecretKeyError when the key is missing). */
export function openUrl(keys: KeyRing, stored: string): string {
  return SEALED.test(stored) ? decryptSecret(keys, stored) : stored;
}

/** A stored channel's clear URL. */
export function channelUrl(keys: KeyRing, c: StoredChannel): string {
  return c.url_enc !== undefined ? openUrl(keys, c.url_enc) : (c.url ?? '');
}

/** A stored URL as shown and logged: masked, or a note when it cannot be decrypted (another key). */
export function maskedUrl(keys: KeyRing, stored: string): string {
  try {
    return maskUrl(openUrl(keys, stored));
  } catch {
    return '(无法解密 unreadable: key missing)';
  }
}

/** A URL as the API shows it: scheme, host and path, query replaced by `?***` (tokens live there), Slack's secret path hidden. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol === 'mailto:') return `mailto:${u.pathname}`;
    let path = u.pathname;
    if (/(^|\.)slack\.com$/i.test(u.hostname) && path.startsWith('/services/')) path = '/services/***';
    return `${u.protocol}//${u.host}${path}${u.search ? '?***' : ''}`;
  } catch {
    return '(invalid url)';
  }
}
