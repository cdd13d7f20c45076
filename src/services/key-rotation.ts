/**
 * `whalefall keys rotate`: a new key becomes current and every secret encrypted with the ring is rewritten
 * under it — credential passwords, instances' TLS material (`tls_enc`), webhook URLs and robot signing
 * secrets (rules' channels, queued deliveries). Afterwards the old key can be removed without losing anything.
 *
 * `whalefall keys list|remove`: which key each of those secrets is under; a key still needed by any of them
 * is never removed (the secrets would become unreadable).
 */
import { addKey, removeKey, SecretKeyError, type KeyRing } from '../lib/crypto.js';
import { msg } from '../client/shared/i18n/index.js';
import type { AlertsRepository } from '../store/alerts.repository.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { StoredChannel } from './alerts/channel-url.js';
import type { Actor } from './audit.service.js';
import type { AlertsService } from './alerts.service.js';
import type { CredentialsService } from './credentials.service.js';
import type { InstancesService } from './instances.service.js';

export interface KeyUse {
  key_id: string;
  current: boolean;
  credentials: number;
  /** Instances whose TLS material (CA, client certificate and key) is under the key. */
  tls: number;
  /** Webhook URLs and signing secrets (rules' channels, queued deliveries) under the key. */
  webhooks: number;
}

export interface KeyUsageDeps {
  keys: KeyRing;
  credentials: CredentialsService;
  repos: { instances: InstancesRepository; alerts: AlertsRepository };
}

export interface RotationResult {
  key_id: string;
  credentials: number;
  tls: number;
  webhooks: number;
}

export async function rotateKeys(
  d: { dataDir: string; keys: KeyRing; keyFromEnv: boolean; credentials: CredentialsService; instances: InstancesService; alerts: AlertsService },
  actor: Actor,
): Promise<RotationResult> {
  const id = addKey(d.dataDir, d.keys, d.keyFromEnv);
  const r = await d.credentials.reencryptAll(actor);
  const tls = await d.instances.reencryptTls();
  const webhooks = await d.alerts.reencryptSecrets();
  return { key_id: id, credentials: r.reencrypted, tls, webhooks };
}

/** The key id of a sealed value (`v1:<keyId>:…`); undefined for a clear one (a webhook URL from before 0019). */
function sealedKeyId(value: string | undefined): string | undefined {
  return value === undefined ? undefined : /^v1:([^:]+):/.exec(value)?.[1];
}

/** Every key of the ring (current first), and any key the store needs but the ring lacks, with what each encrypts. */
export async function keyUsage(d: KeyUsageDeps): Promise<KeyUse[]> {
  const [creds, tls, hooks] = await Promise.all([d.credentials.keyUsage(), d.repos.instances.sealedTls(), d.repos.alerts.sealedChannels()]);
  const uses = new Map<string, KeyUse>(creds.map((c) => [c.key_id, { ...c, tls: 0, webhooks: 0 }]));
  const count = (value: string | undefined, what: 'tls' | 'webhooks') => {
    const id = sealedKeyId(value);
    if (id === undefined) return;
    if (!uses.has(id)) uses.set(id, { key_id: id, current: id === d.keys.currentId, credentials: 0, tls: 0, webhooks: 0 });
    uses.get(id)![what]++;
  };
  for (const v of tls) count(v, 'tls');
  for (const json of hooks.channels) {
    for (const c of JSON.parse(json) as StoredChannel[]) {
      count(c.url_enc, 'webhooks');
      count(c.secret_enc, 'webhooks');
    }
  }
  for (const url of hooks.urls) count(url, 'webhooks');
  return [...uses.values()];
}

/** `keys remove`: refused while any credential, TLS material or webhook secret is still under the key. */
export async function removeUnusedKey(d: KeyUsageDeps & { dataDir: string }, id: string): Promise<void> {
  const use = (await keyUsage(d)).find((k) => k.key_id === id);
  if (use && use.credentials + use.tls + use.webhooks > 0) {
    throw new SecretKeyError(msg('cli.keys.in_use', { id, credentials: use.credentials, tls: use.tls, webhooks: use.webhooks }));
  }
  removeKey(d.dataDir, d.keys, id);
}
