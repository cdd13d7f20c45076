/**
 * Database credentials. Passwords are write-only: encrypted on the way in,
 * decrypted only to open a connection, never returned.
 */
import { DB_TYPES } from '../domain/db-type.js';
import type { Clock } from '../lib/clock.js';
import { decryptSecret, encryptSecret, reencryptSecret, type KeyRing } from '../lib/crypto.js';
import { AppError } from '../lib/errors.js';
import type { CredentialsRepository } from '../store/credentials.repository.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { CredentialRow } from '../store/schema.js';
import { diff, type Actor, type AuditService } from './audit.service.js';
import { fail, oneOf, requiredText, taken } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

export interface PublicCredential {
  id: number;
  name: string;
  db_type: string | null;
  username: string;
  has_password: true;
  key_id: string;
  created_at: string;
  updated_at: string;
}

export interface CredentialInput {
  name?: unknown;
  db_type?: unknown;
  username?: unknown;
  password?: unknown;
}

function toPublic(c: CredentialRow): PublicCredential {
  return {
    id: c.id,
    name: c.name,
    db_type: c.db_type,
    username: c.username,
    has_password: true,
    key_id: c.key_id,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}

function password(value: unknown): string {
  if (typeof value !== 'string') fail('password', msg('api.v.string'));
  if (value.length > 1024) fail('password', msg('api.v.max_chars', { max: 1024 }));
  if (value.includes('\u0000')) fail('password', msg('api.v.nul'));
  return value;
}

/** See CredentialsService.keyProblem; also the estate check of a scale-out process (estate.service.ts). */
export function undecryptableCredential(keys: KeyRing, rows: Pick<CredentialRow, 'name' | 'password_enc'>[]): string | null {
  for (const c of rows) {
    try {
      decryptSecret(keys, c.password_enc);
    } catch {
      return `the secret key cannot decrypt the stored credential "${c.name}": start with the key that encrypted it (WHALEFALL_SECRET_KEY or secret.key, including rotated keys)`;
    }
  }
  return null;
}

export class CredentialsService {
  constructor(
    private readonly repo: CredentialsRepository,
    private readonly instances: InstancesRepository,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async list(): Promise<PublicCredential[]> {
    return (await this.repo.list()).map(toPublic);
  }

  async get(id: number): Promise<PublicCredential> {
    const c = await this.repo.get(id);
    if (!c) throw new AppError('not_found', msg('api.credential_not_found', { id }));
    return toPublic(c);
  }

  async create(input: CredentialInput, actor: Actor): Promise<PublicCredential> {
    const name = requiredText('name', input.name, 128);
    const dbType = input.db_type === undefined || input.db_type === null ? null : oneOf('db_type', input.db_type, DB_TYPES);
    const username = requiredText('username', input.username, 256);
    const pw = password(input.password);
    if (await this.repo.getByName(name)) taken('name', msg('api.v.credential_name_exists', { name }));
    const now = this.clock.now().toISOString();
    const enc = encryptSecret(this.keys, pw);
    const row = await this.repo.insert({ name, db_type: dbType, username, password_enc: enc.value, key_id: enc.keyId, created_at: now, updated_at: now });
    await this.audit.record(actor, { action: 'credential.create', targetType: 'credential', targetId: row.id, details: { name, db_type: dbType, username } });
    return toPublic(row);
  }

  async update(id: number, input: CredentialInput, actor: Actor): Promise<PublicCredential> {
    const current = await this.repo.get(id);
    if (!current) throw new AppError('not_found', msg('api.credential_not_found', { id }));
    const patch: Record<string, unknown> = {};
    if (input.name !== undefined) {
      const name = requiredText('name', input.name, 128);
      const other = await this.repo.getByName(name);
      if (other && other.id !== id) taken('name', msg('api.v.credential_name_exists', { name }));
      patch.name = name;
    }
    if (input.db_type !== undefined) patch.db_type = input.db_type === null ? null : oneOf('db_type', input.db_type, DB_TYPES);
    if (input.username !== undefined) patch.username = requiredText('username', input.username, 256);
    if (input.password !== undefined) {
      const enc = encryptSecret(this.keys, password(input.password));
      patch.password_enc = enc.value;
      patch.key_id = enc.keyId;
    }
    const now = this.clock.now().toISOString();
    const row = await this.repo.update(id, { ...patch, updated_at: now });
    // The password's values never reach the audit: only that it changed (and `record` hides the key anyway).
    const { password_enc, key_id: _keyId, ...plain } = patch;
    const changed = { ...diff(current, plain), ...(password_enc !== undefined ? { password: '***' } : {}) };
    await this.audit.record(actor, { action: 'credential.update', targetType: 'credential', targetId: id, details: { changed } });
    return toPublic(row!);
  }

  async delete(id: number, actor: Actor): Promise<void> {
    const current = await this.repo.get(id);
    if (!current) throw new AppError('not_found', msg('api.credential_not_found', { id }));
    const used = await this.instances.countUsingCredential(id);
    if (used > 0) throw new AppError('conflict', msg('api.credential_in_use', { name: current.name, count: used }));
    await this.repo.delete(id);
    await this.audit.record(actor, { action: 'credential.delete', targetType: 'credential', targetId: id, details: { name: current.name } });
  }

  async exists(id: number): Promise<boolean> {
    return (await this.repo.get(id)) !== undefined;
  }

  /** Encrypt other secrets (an instance's TLS material) with the same key ring. */
  encryptText(text: string): string {
    return encryptSecret(this.keys, text).value;
  }

  decryptText(enc: string): string {
    return decryptSecret(this.keys, enc);
  }

  /** `enc` under the current key; undefined when it already is (key rotation). */
  reencryptText(enc: string): string | undefined {
    return reencryptSecret(this.keys, enc);
  }

  /**
   * The first stored credential this process's key ring cannot decrypt (another WHALEFALL_SECRET_KEY, a
   * secret.key replaced or missing a rotated key), as a sentence naming it and the fix; null when all decrypt.
   * /readyz answers 503 with it, so a service with the wrong key is never "ready" and then failing every sync.
   */
  async keyProblem(): Promise<string | null> {
    return undecryptableCredential(this.keys, await this.repo.list());
  }

  /** Username and clear password, for opening a connection only. */
  async reveal(id: number): Promise<{ username: string; password: string } | undefined> {
    const c = await this.repo.get(id);
    if (!c) return undefined;
    return { username: c.username, password: decryptSecret(this.keys, c.password_enc) };
  }

  /**
   * Re-encrypt every credential still under an older key with the current key
   * (after `addKey`), in one transaction. Returns how many were rewritten.
   */
  async reencryptAll(actor: Actor): Promise<{ key_id: string; reencrypted: number }> {
    const current = this.keys.currentId;
    const n = await this.repo.reencryptAll((row) => {
      if (row.key_id === current && row.password_enc.startsWith(`v1:${current}:`)) return undefined;
      const enc = encryptSecret(this.keys, decryptSecret(this.keys, row.password_enc));
      return { password_enc: enc.value, key_id: enc.keyId };
    }, this.clock.now().toISOString());
    await this.audit.record(actor, { action: 'credential.reencrypt', targetType: 'key', targetId: current, details: { reencrypted: n } });
    return { key_id: current, reencrypted: n };
  }

  /** Key ids of the ring (current first) and how many credentials each encrypts. */
  async keyUsage(): Promise<{ key_id: string; current: boolean; credentials: number }[]> {
    const used = new Map((await this.repo.countByKey()).map((r) => [r.key_id, r.n]));
    const ids = [this.keys.currentId, ...[...this.keys.keys.keys()].filter((k) => k !== this.keys.currentId)];
    for (const k of used.keys()) if (!ids.includes(k)) ids.push(k); // a key the store needs but the ring lacks
    return ids.map((k) => ({ key_id: k, current: k === this.keys.currentId, credentials: used.get(k) ?? 0 }));
  }

  async findByName(name: string): Promise<PublicCredential | undefined> {
    const c = await this.repo.getByName(name);
    return c ? toPublic(c) : undefined;
  }
}
