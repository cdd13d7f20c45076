/**
 * What every process of a scale-out estate (serve + workers on one
 * PostgreSQL store) must agree on, checked before a process takes work: a
 * process that disagrees refuses to start with one line naming the variable,
 * instead of failing records as `internal` (another key) or writing them under
 * another day (another zone).
 *
 * - WHALEFALL_SECRET_KEY must be given explicitly (a generated per-machine
 *   key cannot decrypt what another machine encrypted) and must decrypt the
 *   stored credentials;
 * - WHALEFALL_TZ must equal the estate's zone, stored in the store by the
 *   first process that starts; `whalefall estate set-time-zone ZONE` changes
 *   it deliberately (then restart every process with the new WHALEFALL_TZ).
 */
import { ConfigError, type Config } from '../config.js';
import type { KeyRing } from '../lib/crypto.js';
import { undecryptableCredential } from './credentials.service.js';
import type { Clock } from '../lib/clock.js';
import type { CredentialsRepository } from '../store/credentials.repository.js';
import type { ProcessesRepository } from '../store/processes.repository.js';

export const ESTATE_TIME_ZONE = 'time_zone';

/** Before the context opens (a missing key would be generated into the data directory). */
export function checkQueueConfig(config: Config): void {
  if (config.queue !== 'pg-boss') return;
  if (!config.secretKey) {
    throw new ConfigError(
      'WHALEFALL_SECRET_KEY must be set explicitly in queue mode (WHALEFALL_QUEUE=pg-boss): every process of the estate needs the same key',
    );
  }
}

export async function checkEstate(d: {
  config: Config;
  keys: KeyRing;
  credentials: CredentialsRepository;
  processes: ProcessesRepository;
  clock: Clock;
}): Promise<void> {
  if (d.config.queue !== 'pg-boss') return;
  // Every one: a process missing one old key (rotation) would fail the instances that still use it.
  const bad = (await d.credentials.list()).find((c) => undecryptableCredential(d.keys, [c]) !== null);
  if (bad) throw new ConfigError(`WHALEFALL_SECRET_KEY cannot decrypt the stored credential "${bad.name}": this process has another key than the estate`);
  const zone = await d.processes.estateSetIfAbsent(ESTATE_TIME_ZONE, d.config.timeZone, d.clock.now().toISOString());
  if (zone !== d.config.timeZone) {
    throw new ConfigError(
      `WHALEFALL_TZ is "${d.config.timeZone}" but the estate's time zone is "${zone}": set WHALEFALL_TZ=${zone} (to change the estate's zone: whalefall estate set-time-zone ZONE, then restart every process)`,
    );
  }
}
