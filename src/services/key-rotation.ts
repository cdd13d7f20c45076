/**
 * `whalefall keys rotate`: a new key becomes current and every secret encrypted with the ring is rewritten
 * under it — credential passwords, instances' TLS material (`tls_enc`), webhook URLs and robot signing
 * secrets (rules' channels, queued deliveries). Afterwards the old key can be removed without losing anything.
 */
import { addKey, type KeyRing } from '../lib/crypto.js';
import type { Actor } from './audit.service.js';
import type { AlertsService } from './alerts.service.js';
import type { CredentialsService } from './credentials.service.js';
import type { InstancesService } from './instances.service.js';

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
