/**
 * Secrets at rest and in transit through the app.
 * - Credential passwords: AES-256-GCM, `v1:<keyId>:<iv>:<tag>:<ciphertext>` (base64url);
 *   the key id is stored beside each value so keys can be rotated.
 * - User passwords: scrypt (N=2^15, r=8, p=1), `scrypt$N$r$p$salt$hash`.
 * - Session cookies and API tokens: random 32 bytes, only their SHA-256 is stored.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensurePrivateDir } from './private-files.js';
import { msg, msgText, type Msg } from '../client/shared/i18n/index.js';

const scryptAsync = promisify(crypto.scrypt) as (
  password: crypto.BinaryLike,
  salt: crypto.BinaryLike,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

export interface KeyRing {
  currentId: string;
  keys: Map<string, Buffer>;
  /** Where loadKeyRing read it: the ring follows `secret.key` when another process changes it (`followKeyFile`). */
  source?: { file: string; envKey?: Buffer; stamp: string };
}

export function keyId(key: Buffer): string {
  return crypto.createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** A 32-byte key given as base64/hex, or any passphrase (stretched with scrypt). */
export function keyFromSecret(secret: string): Buffer {
  const trimmed = secret.trim();
  if (/^[0-9a-f]{64}$/i.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const b64 = Buffer.from(trimmed, 'base64');
  if (b64.length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(trimmed)) return b64;
  return crypto.scryptSync(trimmed, 'whalefall-secret-key-v1', 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

/** What changes when the key file is rewritten, replaced or appended to (a rotation, a removal). */
function fileStamp(file: string): string {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'none';
}

function readKeyFile(file: string): Buffer[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const k = Buffer.from(line.trim(), 'base64');
      if (k.length !== 32) throw new Error(`${file}: every line must be a base64 32-byte key`);
      return k;
    });
}

/** The ring of the file's keys (in the file's order) and the environment's key, current when given. */
function fillRing(ring: KeyRing, fileKeys: Buffer[], envKey: Buffer | undefined): void {
  ring.keys.clear();
  for (const k of fileKeys) ring.keys.set(keyId(k), k);
  if (envKey) ring.keys.set(keyId(envKey), envKey);
  ring.currentId = envKey ? keyId(envKey) : [...ring.keys.keys()].at(-1)!;
}

/**
 * Load the key ring. With `WHALEFALL_SECRET_KEY` set it is the current key;
 * otherwise `<dataDir>/secret.key` is read, or generated (mode 0600) on first
 * start. The key file holds one base64 key per line; the last line is current,
 * older lines still decrypt (rotation). The ring then follows the file
 * (`followKeyFile`).
 */
export function loadKeyRing(dataDir: string, secretKey: string | undefined): KeyRing {
  const file = path.join(dataDir, 'secret.key');
  const envKey = secretKey ? keyFromSecret(secretKey) : undefined;
  let stamp = fileStamp(file);
  let fileKeys = readKeyFile(file);
  if (!envKey && fileKeys.length === 0) {
    const k = crypto.randomBytes(32);
    ensurePrivateDir(dataDir);
    fs.writeFileSync(file, k.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    stamp = fileStamp(file);
    fileKeys = [k];
  }
  const ring: KeyRing = { currentId: '', keys: new Map(), source: { file, envKey, stamp } };
  fillRing(ring, fileKeys, envKey);
  return ring;
}

/**
 * Read the ring again when its key file changed since it was read: another process's `whalefall keys rotate` (a new
 * current key, every secret re-encrypted under it) or `keys remove`. A running service then decrypts and encrypts
 * with the new key at once, without a restart (before, every sync failed "encryption key … is not loaded" until one).
 * One stat per call; a file caught mid-write or unreadable leaves the ring as it was, and is read again next time.
 */
export function followKeyFile(ring: KeyRing): void {
  const src = ring.source;
  if (!src) return;
  const stamp = fileStamp(src.file);
  if (stamp === src.stamp) return;
  let fileKeys: Buffer[];
  try {
    fileKeys = readKeyFile(src.file);
  } catch {
    return;
  }
  if (fileKeys.length === 0 && !src.envKey) return; // never an empty ring
  src.stamp = stamp;
  fillRing(ring, fileKeys, src.envKey);
}

/**
 * `whalefall keys rotate`: a new random key appended to `<dataDir>/secret.key`
 * becomes the current key of the ring; the older lines stay and still decrypt
 * until removed. With WHALEFALL_SECRET_KEY set the current key comes from the
 * environment, so rotation is refused: change the variable instead (and keep
 * the old key as a line of secret.key until the credentials are re-encrypted).
 */
export function addKey(dataDir: string, ring: KeyRing, secretKeyFromEnv: boolean): string {
  if (secretKeyFromEnv) {
    throw new SecretKeyError(msg('cli.keys.from_env'));
  }
  const k = crypto.randomBytes(32);
  const file = path.join(dataDir, 'secret.key');
  ensurePrivateDir(dataDir);
  fs.appendFileSync(file, k.toString('base64') + '\n', { mode: 0o600 });
  const id = keyId(k);
  ring.keys.delete(id); // keep the map's order = the file's order
  ring.keys.set(id, k);
  ring.currentId = id;
  return id;
}

/** Remove a key line from `<dataDir>/secret.key` (never the current key). */
export function removeKey(dataDir: string, ring: KeyRing, id: string): void {
  if (id === ring.currentId) throw new SecretKeyError(msg('cli.keys.current', { id }));
  if (!ring.keys.has(id)) throw new SecretKeyError(msg('cli.keys.no_such', { id }));
  const file = path.join(dataDir, 'secret.key');
  const lines = fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
    : [];
  const kept = lines.filter((l) => keyId(Buffer.from(l.trim(), 'base64')) !== id);
  if (kept.length === lines.length) throw new SecretKeyError(msg('cli.keys.not_in_file', { id, file }));
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, kept.map((l) => l.trim() + '\n').join(''), { mode: 0o600 });
  fs.renameSync(tmp, file);
  ring.keys.delete(id);
}

/** A 32-byte key for one purpose (HKDF-SHA256 of the current key): never the encryption key itself. */
export function derivedKey(ring: KeyRing, purpose: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', ring.keys.get(ring.currentId)!, Buffer.alloc(0), `whalefall:${purpose}`, 32));
}

export function encryptSecret(ring: KeyRing, plaintext: string): { value: string; keyId: string } {
  followKeyFile(ring);
  const key = ring.keys.get(ring.currentId)!;
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(ring.currentId));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  const b = (x: Buffer) => x.toString('base64url');
  return { value: `v1:${ring.currentId}:${b(iv)}:${b(tag)}:${b(ct)}`, keyId: ring.currentId };
}

/** A key that is missing, refused or cannot decrypt; the CLI's refusals carry their message by key (its language). */
export class SecretKeyError extends Error {
  readonly msg?: Msg;
  constructor(m: string | Msg) {
    super(typeof m === 'string' ? m : msgText(m));
    if (typeof m !== 'string') this.msg = m;
  }
}

/** `value` encrypted with the current key when it is under another one (rotation); undefined when already current. */
export function reencryptSecret(ring: KeyRing, value: string): string | undefined {
  followKeyFile(ring);
  if (value.startsWith(`v1:${ring.currentId}:`)) return undefined;
  return encryptSecret(ring, decryptSecret(ring, value)).value;
}

export function decryptSecret(ring: KeyRing, value: string): string {
  const parts = value.split(':');
  if (parts.length !== 5 || parts[0] !== 'v1') throw new SecretKeyError('encrypted value has an unknown format');
  const [, id, iv, tag, ct] = parts as [string, string, string, string, string];
  followKeyFile(ring);
  const key = ring.keys.get(id);
  if (!key) throw new SecretKeyError(`encryption key ${id} is not loaded (was WHALEFALL_SECRET_KEY or secret.key changed?)`);
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(id));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretKeyError(`encrypted value does not authenticate with key ${id}`);
  }
}

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scryptAsync(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

export function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

export function randomToken(prefix = ''): string {
  return prefix + crypto.randomBytes(32).toString('base64url');
}

/** A readable random password for generated admin accounts. */
export function generatePassword(): string {
  return crypto.randomBytes(15).toString('base64url');
}
