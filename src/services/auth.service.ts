/**
 * Users, roles, web sessions and API tokens.
 * Roles are ordered: viewer may read; operator may also sync; admin may also
 * manage instances, credentials, users and tokens of others.
 */
import type { Clock } from '../lib/clock.js';
import { LoginThrottle } from './login-throttle.js';
import { generatePassword, hashPassword, randomToken, sha256, verifyPassword } from '../lib/crypto.js';
import { AppError } from '../lib/errors.js';
import type { UsersRepository } from '../store/users.repository.js';
import type { UserRow } from '../store/schema.js';
import { diff, type Actor, type AuditService } from './audit.service.js';
import { fail, integer, oneOf, requiredText, taken } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

import { ROLES, type Role } from '../domain/roles.js';
export { ROLES, type Role };

export function roleAtLeast(role: string, needed: Role): boolean {
  return ROLES.indexOf(role as Role) >= ROLES.indexOf(needed);
}

export interface Principal {
  id: number;
  username: string;
  role: Role;
  locale: string | null;
  via: 'session' | 'token';
  /** Only for cookie sessions: the value the X-CSRFToken header must carry. */
  csrfToken?: string;
  sessionId?: string;
}

export interface PublicUser {
  id: number;
  username: string;
  role: Role;
  is_active: boolean;
  locale: string | null;
  created_at: string;
}

function toPublicUser(u: UserRow): PublicUser {
  return { id: u.id, username: u.username, role: u.role as Role, is_active: u.is_active === 1, locale: u.locale, created_at: u.created_at };
}

const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function newPassword(value: unknown): string {
  if (typeof value !== 'string') fail('password', msg('api.v.string'));
  if (value.length < 8) fail('password', msg('api.v.password_short'));
  if (value.length > 256) fail('password', msg('api.v.password_long'));
  return value;
}

// A fixed hash to spend the same time on unknown users as on known ones.
let dummyHash: Promise<string> | undefined;

/** How stale a token's last_used_at may get before a request writes it again. */
export const TOKEN_TOUCH_MS = 60_000;

export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly sessionTtlHours: number,
    /**
     * Failed logins per (account, address): `attempts` free ones, then delays doubling from 1 s up to
     * `minutes` (attempts 0: never throttled). See `LoginThrottle`.
     */
    lockout: { attempts: number; minutes: number } = { attempts: 10, minutes: 15 },
    /** Tokens created without an expiry expire after this many days; only an admin may ask for none. */
    private readonly tokenDefaultDays = 90,
  ) {
    this.throttle = lockout.attempts > 0 ? new LoginThrottle({ freeFailures: lockout.attempts, maxDelayMs: lockout.minutes * 60_000 }) : undefined;
  }

  private readonly throttle: LoginThrottle | undefined;

  private now(): string {
    return this.clock.now().toISOString();
  }

  /**
   * On first start: create `admin` with the given password, or a generated one
   * that the caller prints once. Returns the generated password, if any.
   */
  async ensureAdmin(password: string | undefined): Promise<{ created: boolean; generatedPassword?: string }> {
    if ((await this.users.count()) > 0) return { created: false };
    const pw = password ?? generatePassword();
    await this.users.insert({ username: 'admin', password_hash: await hashPassword(pw), role: 'admin', now: this.now() });
    return { created: true, generatedPassword: password ? undefined : pw };
  }

  async listUsers(): Promise<PublicUser[]> {
    return (await this.users.list()).map(toPublicUser);
  }

  async createUser(input: { username?: unknown; password?: unknown; role?: unknown }, actor: Actor): Promise<PublicUser> {
    const username = requiredText('username', input.username, 64);
    if (!USERNAME_RE.test(username)) fail('username', msg('api.v.username_chars'));
    const role = oneOf('role', input.role ?? 'viewer', ROLES);
    const pw = newPassword(input.password);
    if (await this.users.getByUsername(username)) taken('username', msg('api.v.user_exists', { name: username }));
    const u = await this.users.insert({ username, password_hash: await hashPassword(pw), role, now: this.now() });
    await this.audit.record(actor, { action: 'user.create', targetType: 'user', targetId: u.id, details: { username, role } });
    return toPublicUser(u);
  }

  async updateUser(id: unknown, input: { password?: unknown; role?: unknown; is_active?: unknown; locale?: unknown }, actor: Actor): Promise<PublicUser> {
    const userId = integer('id', id, 1, Number.MAX_SAFE_INTEGER);
    const u = await this.users.get(userId);
    if (!u) throw new AppError('not_found', msg('api.user_not_found', { id: userId }));
    const patch: Parameters<UsersRepository['update']>[1] = { updated_at: this.now() };
    if (input.password !== undefined) {
      patch.password_hash = await hashPassword(newPassword(input.password));
      patch.failed_logins = 0; // a new password also lifts a throttle
      patch.locked_until = null;
    }
    if (input.role !== undefined) patch.role = oneOf('role', input.role, ROLES);
    if (input.is_active !== undefined) {
      if (typeof input.is_active !== 'boolean') fail('is_active', msg('api.v.boolean'));
      patch.is_active = input.is_active ? 1 : 0;
    }
    if (input.locale !== undefined) patch.locale = oneOf('locale', input.locale, ['zh-CN', 'en'] as const);
    const losesAdmin = u.role === 'admin' && u.is_active === 1 && ((patch.role !== undefined && patch.role !== 'admin') || patch.is_active === 0);
    if (losesAdmin && (await this.users.countActiveAdmins()) <= 1) {
      throw new AppError('conflict', msg('api.auth.last_admin'), 'last_admin');
    }
    const updated = await this.users.update(userId, patch);
    if (patch.password_hash || patch.is_active === 0 || (patch.role && patch.role !== u.role)) {
      await this.users.deleteSessionsOfUser(userId); // credentials or rights changed: log in again
    }
    if (patch.password_hash || patch.is_active === 0) {
      // A token is a password for scripts: whoever reset the password (or disabled the user) ends them too.
      const revoked = await this.users.revokeTokensOfUser(userId, this.now());
      if (revoked)
        await this.audit.record(actor, {
          action: 'token.revoke',
          targetType: 'user',
          targetId: userId,
          details: { tokens: revoked, reason: patch.password_hash ? 'password reset' : 'user disabled' },
        });
    }
    if (patch.password_hash) this.throttle?.clearAccount(u.username);
    const { password_hash, failed_logins: _f, locked_until: _l, updated_at: _u, ...plain } = patch;
    const changed = { ...diff(u, plain), ...(password_hash !== undefined ? { password: '***' } : {}) };
    await this.audit.record(actor, { action: 'user.update', targetType: 'user', targetId: userId, details: { changed } });
    return toPublicUser(updated!);
  }

  /** An admin lifts every address's login delays for this user (the sessions were never touched). */
  async unlockUser(id: unknown, actor: Actor): Promise<{ user: PublicUser; addresses_cleared: number }> {
    const userId = integer('id', id, 1, Number.MAX_SAFE_INTEGER);
    const u = await this.users.get(userId);
    if (!u) throw new AppError('not_found', msg('api.user_not_found', { id: userId }));
    const cleared = this.throttle?.clearAccount(u.username) ?? 0;
    const updated = await this.users.update(userId, { failed_logins: 0, locked_until: null, updated_at: this.now() });
    await this.audit.record(actor, { action: 'user.unlock', targetType: 'user', targetId: userId, details: { addresses_cleared: cleared } });
    return { user: toPublicUser(updated!), addresses_cleared: cleared };
  }

  /** Addresses whose logins to this account are being delayed now. */
  loginDelays(username: string) {
    return this.throttle?.delayed(username, this.clock.now().getTime()) ?? [];
  }

  async userByName(username: string): Promise<PublicUser> {
    const u = await this.users.getByUsername(username);
    if (!u) throw new AppError('not_found', msg('api.user_name_not_found', { name: username }));
    return toPublicUser(u);
  }

  /** Check a username/password; on success open a web session. */
  async login(usernameIn: unknown, passwordIn: unknown, sourceIp: string | null) {
    if (typeof usernameIn !== 'string' || typeof passwordIn !== 'string' || !usernameIn || !passwordIn) {
      throw new AppError('validation', msg('api.auth.credentials_required'));
    }
    const nowMs = this.clock.now().getTime();
    const wait = this.throttle?.waitMs(usernameIn, sourceIp, nowMs) ?? 0;
    if (wait > 0) {
      // Refused before the password is even checked: guessing faster than the delays is impossible.
      await this.audit.record({ userId: null, username: usernameIn.slice(0, 64), sourceIp }, { action: 'auth.login_throttled' });
      const seconds = Math.ceil(wait / 1000);
      throw new AppError('rate_limited', msg('api.auth.throttled', { seconds }), 'login_throttled', { retry_after_seconds: seconds });
    }
    const u = await this.users.getByUsername(usernameIn);
    const ok = u ? await verifyPassword(passwordIn, u.password_hash) : await verifyPassword(passwordIn, await (dummyHash ??= hashPassword('x')));
    const nowIso = this.now();
    if (!u || !ok || u.is_active !== 1) {
      await this.audit.record({ userId: null, username: usernameIn.slice(0, 64), sourceIp }, { action: 'auth.login_failed' });
      // Unknown names are throttled the same way (no difference an attacker could measure); sessions never end here.
      const t = !ok ? this.throttle?.failed(usernameIn, sourceIp, nowMs) : undefined;
      if (u && t && t.delayMs > 0) {
        await this.users.addFailedLogin(u.id);
        await this.audit.record(
          { userId: null, username: u.username, sourceIp },
          {
            action: 'auth.throttled',
            targetType: 'user',
            targetId: u.id,
            details: { failures_from_address: t.failures, delay_seconds: Math.ceil(t.delayMs / 1000) },
          },
        );
      }
      throw new AppError('unauthorized', msg('api.auth.wrong_password'));
    }
    this.throttle?.succeeded(usernameIn, sourceIp);
    if (u.failed_logins !== 0 || u.locked_until) await this.users.update(u.id, { failed_logins: 0, locked_until: null, updated_at: nowIso });
    const token = randomToken();
    const csrf = randomToken();
    const now = this.clock.now();
    const expires = new Date(now.getTime() + this.sessionTtlHours * 3600_000);
    await this.users.insertSession({
      id: sha256(token),
      user_id: u.id,
      csrf_token: csrf,
      created_at: now.toISOString(),
      expires_at: expires.toISOString(),
      source_ip: sourceIp,
    });
    await this.users.deleteExpiredSessions(now.toISOString());
    await this.audit.record({ userId: u.id, username: u.username, sourceIp }, { action: 'auth.login' });
    return { token, csrfToken: csrf, expiresAt: expires, user: toPublicUser(u) };
  }

  async logout(p: Principal, sourceIp: string | null = null): Promise<void> {
    // A token is not a session: "logged out" would leave it working. Say so, change and record nothing.
    if (p.via !== 'session' || !p.sessionId) throw new AppError('validation', msg('api.auth.logout_token'), 'not_a_session');
    await this.users.deleteSession(p.sessionId);
    await this.audit.record({ userId: p.id, username: p.username, sourceIp }, { action: 'auth.logout', details: { via: p.via } });
  }

  async fromSessionCookie(token: string): Promise<Principal | undefined> {
    const s = await this.users.findSession(sha256(token), this.now());
    if (!s) return undefined;
    return { id: s.id, username: s.username, role: s.role as Role, locale: s.locale, via: 'session', csrfToken: s.csrf_token, sessionId: s.session_id };
  }

  async fromBearer(token: string): Promise<Principal | undefined> {
    const t = await this.users.findToken(sha256(token), this.now());
    if (!t) return undefined;
    // last_used_at is for people (the tokens list), to the minute: one write a minute per token, not one per request.
    const now = this.clock.now();
    if (t.last_used_at === null || now.getTime() - Date.parse(t.last_used_at) >= TOKEN_TOUCH_MS) await this.users.touchToken(t.token_id, now.toISOString());
    return { id: t.id, username: t.username, role: t.role as Role, locale: t.locale, via: 'token' };
  }

  /**
   * A bearer token for scripts; the clear value is returned once and never stored. Without `expires_in_days`
   * it expires after the configured default; `expires_in_days: null` (never) only when `mayNeverExpire`
   * (an admin, or the CLI at the machine). The HTTP layer lets only cookie sessions call this: a token never
   * mints another.
   */
  async createToken(
    userId: number,
    input: { name?: unknown; expires_in_days?: unknown },
    actor: Actor,
    opts: { mayNeverExpire: boolean } = { mayNeverExpire: false },
  ) {
    const name = requiredText('name', input.name, 128);
    if (input.expires_in_days === null && !opts.mayNeverExpire) {
      throw new AppError('forbidden', msg('api.auth.token_no_expiry'), 'token_no_expiry');
    }
    const days =
      input.expires_in_days === null
        ? null
        : input.expires_in_days === undefined
          ? this.tokenDefaultDays
          : integer('expires_in_days', input.expires_in_days, 1, 3650);
    const token = randomToken('wf_');
    const now = this.clock.now();
    const row = await this.users.insertToken({
      user_id: userId,
      name,
      token_hash: sha256(token),
      token_prefix: token.slice(0, 10),
      created_at: now.toISOString(),
      expires_at: days ? new Date(now.getTime() + days * 86400_000).toISOString() : null,
    });
    await this.audit.record(actor, { action: 'token.create', targetType: 'api_token', targetId: row.id, details: { name, user_id: userId } });
    return { id: row.id, name: row.name, token, token_prefix: row.token_prefix, expires_at: row.expires_at, created_at: row.created_at };
  }

  listTokens(userId?: number) {
    return this.users.listTokens(userId);
  }

  async revokeToken(id: number, actor: Actor, onlyOwnUserId?: number): Promise<void> {
    if (!(await this.users.revokeToken(id, this.now(), onlyOwnUserId))) throw new AppError('not_found', msg('api.token_not_found', { id }));
    await this.audit.record(actor, { action: 'token.revoke', targetType: 'api_token', targetId: id });
  }
}
