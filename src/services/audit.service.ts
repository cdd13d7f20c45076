import type { Clock } from '../lib/clock.js';
import type { AuditEntry, AuditRepository } from '../store/audit.repository.js';

const SECRET_KEYS = /pass(word)?|secret|token|key/i;

/** Deep copy of `details` with every secret-looking field replaced. */
export function withoutSecrets(details: unknown): unknown {
  if (Array.isArray(details)) return details.map(withoutSecrets);
  if (details && typeof details === 'object') {
    return Object.fromEntries(Object.entries(details as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEYS.test(k) ? '***' : withoutSecrets(v)]));
  }
  return details;
}

/**
 * What a write changed: `{ field: { from, to } }` for every field whose value
 * differs (compared as JSON; `updated_at` left out). Secret fields are then hidden by `record`.
 */
export function diff(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const k of Object.keys(after)) {
    if (k === 'updated_at') continue; // bookkeeping, the entry has its own time
    if (JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null)) out[k] = { from: before[k] ?? null, to: after[k] ?? null };
  }
  return out;
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
