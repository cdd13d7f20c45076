import type { Clock } from '../lib/clock.js';
import type { AuditEntry, AuditRepository } from '../store/audit.repository.js';

const SECRET_KEYS = /pass(word)?|secret|token|key/i;

/** Deep copy of `details` with every secret-looking field replaced. */
export function withoutSecrets(details: unknown): unknown {
  if (Array.isArray(details)) return details.map(withoutSecrets);
  if (details && typeof details === 'object') {
    return Object.fromEntries(
      Object.entries(details as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEYS.test(k) ? '***' : withoutSecrets(v)]),
    );
  }
  return details;
}

/** Who did what: every write of the API and the CLI goes through here. */
export interface Actor {
  userId: number | null;
  username: string | null;
  sourceIp?: string | null;
}

export const CLI_ACTOR: Actor = { userId: null, username: 'cli', sourceIp: 'local' };
export const SCHEDULER_ACTOR: Actor = { userId: null, username: 'scheduler', sourceIp: null };

export class AuditService {
  constructor(
    private readonly repo: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async record(actor: Actor, e: Omit<AuditEntry, 'userId' | 'username' | 'sourceIp'>): Promise<void> {
    await this.repo.insert(this.clock.now().toISOString(), {
      ...e,
      userId: actor.userId,
      username: actor.username,
      sourceIp: actor.sourceIp ?? null,
      details: e.details ? (withoutSecrets(e.details) as Record<string, unknown>) : undefined,
    });
  }

  list(limit: number, offset: number) {
    return this.repo.list(limit, offset);
  }
}
