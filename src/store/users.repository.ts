/** Users, their API tokens and their web sessions (only hashes of tokens are stored). */
import type { Insertable, Kysely } from 'kysely';
import type { ApiTokensTable, Database, UserRow, WebSessionsTable } from './schema.js';

export class UsersRepository {
  constructor(private readonly db: Kysely<Database>) {}

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('username').execute();
  }
  get(id: number): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }
  getByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }
  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
  insert(row: { username: string; password_hash: string; role: string; now: string }): Promise<UserRow> {
    return this.db
      .insertInto('users')
      .values({ username: row.username, password_hash: row.password_hash, role: row.role, is_active: 1, created_at: row.now, updated_at: row.now })
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  async update(
    id: number,
    patch: Partial<Pick<UserRow, 'password_hash' | 'role' | 'is_active' | 'locale' | 'failed_logins' | 'locked_until'>> & { updated_at: string },
  ) {
    return this.db.updateTable('users').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  }

  /** One more failed login; returns the new count (atomic: concurrent failures all count). */
  async addFailedLogin(id: number): Promise<number> {
    const r = await this.db
      .updateTable('users')
      .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
      .where('id', '=', id)
      .returning('failed_logins')
      .executeTakeFirstOrThrow();
    return Number(r.failed_logins);
  }

  // --- web sessions
  insertSession(row: Insertable<WebSessionsTable>) {
    return this.db.insertInto('web_sessions').values(row).execute();
  }
  /** The session with its user, if not expired and the user is active. */
  findSession(id: string, now: string) {
    return this.db
      .selectFrom('web_sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select(['s.id as session_id', 's.csrf_token', 'u.id', 'u.username', 'u.role', 'u.locale'])
      .where('s.id', '=', id)
      .where('s.expires_at', '>', now)
      .where('u.is_active', '=', 1)
      .executeTakeFirst();
  }
  deleteSession(id: string) {
    return this.db.deleteFrom('web_sessions').where('id', '=', id).execute();
  }
  deleteSessionsOfUser(userId: number) {
    return this.db.deleteFrom('web_sessions').where('user_id', '=', userId).execute();
  }
  deleteExpiredSessions(now: string) {
    return this.db.deleteFrom('web_sessions').where('expires_at', '<=', now).execute();
  }

  // --- API tokens
  insertToken(row: Insertable<ApiTokensTable>) {
    return this.db.insertInto('api_tokens').values(row).returningAll().executeTakeFirstOrThrow();
  }
  findToken(hash: string, now: string) {
    return this.db
      .selectFrom('api_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id as token_id', 't.last_used_at', 'u.id', 'u.username', 'u.role', 'u.locale'])
      .where('t.token_hash', '=', hash)
      .where('t.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', now)]))
      .where('u.is_active', '=', 1)
      .executeTakeFirst();
  }
  touchToken(id: number, now: string) {
    return this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  }
  listTokens(userId?: number) {
    let q = this.db
      .selectFrom('api_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id', 't.name', 't.token_prefix', 't.created_at', 't.last_used_at', 't.expires_at', 't.revoked_at', 'u.username']);
    if (userId !== undefined) q = q.where('t.user_id', '=', userId);
    return q.orderBy('t.id').execute();
  }
  /** Revoke every live token of a user; returns how many. */
  async revokeTokensOfUser(userId: number, now: string): Promise<number> {
    const r = await this.db.updateTable('api_tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
  async countActiveAdmins(): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin')
      .where('is_active', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
  async revokeToken(id: number, now: string, userId?: number): Promise<boolean> {
    let q = this.db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null);
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
