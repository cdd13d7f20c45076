import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface AuditEntry {
  userId: number | null;
  username: string | null;
  action: string;
  targetType?: string;
  targetId?: string | number;
  sourceIp?: string | null;
  /** Must already be free of secrets (see services/audit.service.ts). */
  details?: Record<string, unknown>;
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(at: string, e: AuditEntry): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        at,
        user_id: e.userId,
        username: e.username,
        action: e.action,
        target_type: e.targetType ?? null,
        target_id: e.targetId === undefined ? null : String(e.targetId),
        source_ip: e.sourceIp ?? null,
        details: e.details ? JSON.stringify(e.details) : null,
      })
      .execute();
  }

  list(limit = 100, offset = 0) {
    return this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
  }
}
