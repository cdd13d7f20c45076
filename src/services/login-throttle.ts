/**
 * Failed logins slow down the one (account, client address) pair that failed, never the account as a whole:
 * a lock anyone could trigger (10 wrong passwords for `admin` from any address) is a denial of service, and
 * ending the victim's sessions made it worse. After `freeFailures` failures in a row from one address, each
 * further attempt for that account from that address must wait 1 s, 2 s, 4 s … up to `maxDelayMs`; an attempt
 * made too early is refused without checking the password (so waiting is the only way to guess faster).
 * A success, an admin's unlock or a password reset clears the pair; a pair quiet for a day is forgotten.
 *
 * Per process: with several processes on one store each counts its own attempts (the proxy's per-address
 * limit, `WHALEFALL_LOGIN_RATE_LIMIT`, still applies in each).
 */
export interface ThrottleOptions {
  freeFailures: number;
  maxDelayMs: number;
  /** Pairs tracked at most (the oldest dropped first), so a flood of made-up names cannot grow memory. */
  maxEntries?: number;
}

interface Entry {
  failures: number;
  /** Epoch ms before which the next attempt is refused. */
  notBefore: number;
  last: number;
}

const FORGET_MS = 24 * 3600_000;

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: ThrottleOptions) {}

  private key(username: string, address: string | null): string {
    return `${username.toLowerCase()}\u0000${address ?? ''}`;
  }

  /** Milliseconds this pair must still wait before its next attempt (0: go ahead). */
  waitMs(username: string, address: string | null, now: number): number {
    const e = this.entries.get(this.key(username, address));
    if (!e) return 0;
    if (now - e.last > FORGET_MS) {
      this.entries.delete(this.key(username, address));
      return 0;
    }
    return Math.max(0, e.notBefore - now);
  }

  /** Record a failure; returns the delay now imposed on the pair (0 while failures are still free). */
  failed(username: string, address: string | null, now: number): { failures: number; delayMs: number } {
    const k = this.key(username, address);
    const e = this.entries.get(k) ?? { failures: 0, notBefore: 0, last: now };
    e.failures++;
    e.last = now;
    const over = e.failures - this.opts.freeFailures;
    const delayMs = over <= 0 ? 0 : Math.min(this.opts.maxDelayMs, 1000 * 2 ** Math.min(over - 1, 30));
    e.notBefore = now + delayMs;
    this.entries.delete(k); // re-insert: Map order is then least recently failed first
    this.entries.set(k, e);
    const max = this.opts.maxEntries ?? 100_000;
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
    return { failures: e.failures, delayMs };
  }

  succeeded(username: string, address: string | null): void {
    this.entries.delete(this.key(username, address));
  }

  /** Forget every address's failures for this account (an admin's unlock, a password reset). */
  clearAccount(username: string): number {
    const prefix = `${username.toLowerCase()}\u0000`;
    let n = 0;
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix) && this.entries.delete(k)) n++;
    return n;
  }

  /** Addresses currently delayed for this account (for the admin's view). */
  delayed(username: string, now: number): { address: string; failures: number; wait_seconds: number }[] {
    const prefix = `${username.toLowerCase()}\u0000`;
    const out: { address: string; failures: number; wait_seconds: number }[] = [];
    for (const [k, e] of this.entries) {
      if (k.startsWith(prefix) && e.notBefore > now)
        out.push({ address: k.slice(prefix.length), failures: e.failures, wait_seconds: Math.ceil((e.notBefore - now) / 1000) });
    }
    return out;
  }
}
