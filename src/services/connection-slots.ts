/**
 * Counting semaphores shared by every process on one store: the connection
 * caps (per monitored instance, and for the whole estate) and the
 * estate-wide sync concurrency. A slot is a row in `connection_slots`
 * (scope, slot number 0…cap-1) — the primary key makes two holders of one
 * slot impossible whichever process asks — with a lease this process renews
 * every heartbeat while it holds the slot. A SIGKILLed process's slots end
 * with their lease (WHALEFALL_LEASE_MS after its last renewal); on the same
 * host a dead pid's slots are taken over at once.
 *
 * In the process, waiters of one scope queue in order and only the first
 * polls the store (others wait to be woken by a release here), so 40 calls
 * waiting for one instance cost one store read per poll, not 40.
 *
 *   const slot = await slots.acquire([{ scope: 'instance:7', cap: 2 }, { scope: 'global', cap: 64 }], { purpose: 'test', waitMs: 10_000 });
 *   try { … } finally { await slot.release(); }
 *
 * Scopes are always taken in the order given (instance before global), so a
 * holder of a global slot never waits for an instance slot: no deadlock.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { holderAlive, PROCESS_TAG } from '../lib/process-tag.js';
import { Batches } from '../lib/batches.js';
import { SlotGuesses } from './slot-guesses.js';
import type { SlotsRepository } from '../store/slots.repository.js';

/** How long a batch of slot releases waits for the one before it to be answered before it is sent anyway. */
const DROP_WAIT_MS = 100;

export interface SlotRequest {
  /** `instance:<id>`, `endpoint:<host>:<port>`, `global`, `sync`. */
  scope: string;
  /** At most this many live slots in the scope (a lowered cap lets the extra holders finish). */
  cap: number;
  /** Slots taken together, all or none (a session that holds two connections at once); default 1, at most `cap`. */
  count?: number;
}

/** What a slot is held for (stored with it; `whalefall processes`-style diagnostics). */
export type SlotPurpose = 'sync' | 'test' | 'doctor' | 'tables' | 'composition';

/** Held slots: `release()` frees them (idempotent). */
export interface Slot {
  readonly holder: string;
  release(): Promise<void>;
}

/** No slot came free within the wait: `request` is the scope that was full. */
export class SlotBusy extends Error {
  constructor(readonly request: SlotRequest) {
    super(`slot busy: ${request.scope} (cap ${request.cap})`);
  }
}

/** The wait was given up because the caller's signal aborted. */
export class SlotAborted extends Error {}

/** The store could not be read or written while taking a slot (not the instance's fault). */
export class SlotStoreError extends Error {
  constructor(readonly storeError: unknown) {
    super(storeError instanceof Error ? storeError.message : String(storeError));
  }
}

export interface SlotsDeps {
  repo: Pick<SlotsRepository, 'held' | 'drop' | 'release' | 'releaseMany' | 'renew' | 'takeSome' | 'dropSome' | 'takeOneEach'>;
  clock: Clock;
  logger: Logger;
  /** A slot's lease after each renewal. */
  leaseMs: number;
  /** How often held slots are renewed. */
  heartbeatMs: number;
}

interface Waiter {
  wake: () => void;
}

interface Local {
  /** Slots of the scope this process holds or is taking now. */
  inUse: number;
  /** In order of arrival; only the first polls the store. */
  waiters: Waiter[];
}

/** First and longest poll of the store by the head waiter (ms); doubles in between. */
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 500;
/** `acquireSome` looks for dead holders' slots in a full scope at most this often. */
const DEAD_CHECK_MS = 1000;
/** A waiter not first in line looks again at least this often (and a timer never overflows). */
const MAX_SLEEP_MS = 60_000;

/** Holders of slots in this process, whichever ConnectionSlots holds them (tests run several contexts in one process). */
const heldInProcess = new Set<string>();

export class ConnectionSlots {
  private readonly locals = new Map<string, Local>();
  /** Holders of this process → the slots they hold per scope. */
  private readonly held = new Map<string, { scope: string; count: number }[]>();
  private renewTimer: NodeJS.Timeout | undefined;
  /** Numbers guessed free before asking the store (slot-guesses.ts). */
  private readonly guesses = new SlotGuesses();

  constructor(private readonly d: SlotsDeps) {}

  /**
   * Take one slot in each scope, in order, waiting up to `waitMs` in all
   * (0: do not wait). Throws SlotBusy (a scope stayed full), SlotAborted
   * (`signal`), or SlotStoreError; nothing stays held after a throw.
   */
  async acquire(requests: SlotRequest[], o: { purpose: SlotPurpose; waitMs: number; signal?: AbortSignal }): Promise<Slot> {
    const holder = `${PROCESS_TAG}:${randomUUID().slice(0, 8)}`;
    const deadline = performance.now() + o.waitMs;
    const scopes: { scope: string; count: number }[] = [];
    this.held.set(holder, scopes);
    heldInProcess.add(holder);
    try {
      if (!o.signal?.aborted && (await this.takeAllAtOnce(requests, holder, o.purpose, scopes))) {
        this.renewWhileHeld();
        let released: Promise<void> | undefined;
        return { holder, release: () => (released ??= this.release(holder)) };
      }
      for (const r of requests) {
        const count = Math.max(1, Math.min(r.count ?? 1, r.cap));
        await this.one({ ...r, count }, holder, o.purpose, deadline, o.signal);
        scopes.push({ scope: r.scope, count });
        this.renewWhileHeld();
      }
    } catch (err) {
      await this.release(holder);
      throw err;
    }
    let released: Promise<void> | undefined;
    return { holder, release: () => (released ??= this.release(holder)) };
  }

  /**
   * Several scopes of one slot each (a connection: its instance, then the estate), none of them waited for
   * here: one store statement for all (`takeOneEach`). True when every scope's slot was taken (added to
   * `scopes`); false, with nothing held, when a scope was full or another holder won a number: the caller
   * then takes them one by one, waiting in line as usual.
   */
  private async takeAllAtOnce(requests: SlotRequest[], holder: string, purpose: SlotPurpose, scopes: { scope: string; count: number }[]): Promise<boolean> {
    if (requests.length < 2 || requests.some((r) => (r.count ?? 1) !== 1 || r.cap < 1)) return false;
    const locals = requests.map((r) => this.local(r.scope));
    if (locals.some((l, i) => l.waiters.length > 0 || l.inUse + 1 > requests[i]!.cap)) return false;
    for (const l of locals) l.inUse += 1;
    // Numbers this process believes free, checked first (slot-guesses.ts); settled when the first take is answered.
    let guesses = this.guesses.guess(requests);
    let ok = false;
    let got: { scope: string; slot: number }[] = [];
    try {
      // A short answer is most often a number another process took in the same instant (numbers are picked at
      // random among the free ones): asked once more with new picks before the one-by-one way (2-3 statements).
      for (let round = 0; round < 2 && !ok; round++) {
        const now = this.d.clock.now();
        const asked = guesses ? requests.map((r, i) => ({ ...r, guess: guesses![i] })) : requests;
        got = await this.d.repo.takeOneEach(asked, holder, purpose, now.toISOString(), new Date(now.getTime() + this.d.leaseMs).toISOString());
        ok = requests.every((r) => got.filter((g) => g.scope === r.scope).length === 1);
        if (guesses) this.guesses.settle(requests, guesses, ok ? got : []);
        guesses = undefined;
        if (!ok && got.length) await this.d.repo.release(holder);
      }
    } catch (err) {
      throw new SlotStoreError(err);
    } finally {
      if (guesses) this.guesses.settle(requests, guesses, []);
      if (!ok)
        for (const l of locals) {
          l.inUse -= 1;
          l.waiters[0]?.wake();
        }
    }
    if (ok) {
      scopes.push(...requests.map((r) => ({ scope: r.scope, count: 1 })));
      this.guesses.hold(holder, got);
    }
    return ok;
  }

  /**
   * Up to `want` slots of one scope now, without waiting (none: the scope is
   * full): a worker filling its free places in one go. One store statement
   * when there is room; when the scope comes back short, the rows of dead
   * holders (a killed process on this host) are freed and the rest asked for
   * once more. Each slot is released on its own (the job it admitted ends);
   * `releaseAll` frees several in one statement. Store errors throw.
   */
  async acquireSome(request: Omit<SlotRequest, 'count'>, want: number, purpose: SlotPurpose): Promise<Slot[]> {
    const l = this.local(request.scope);
    // Waiters of this process (acquire) go first, and the local count never passes the cap.
    const n = Math.min(want, request.cap - l.inUse);
    if (n <= 0 || l.waiters.length) return [];
    const holder = `${PROCESS_TAG}:${randomUUID().slice(0, 8)}`;
    const scopes = [{ scope: request.scope, count: 0 }];
    this.held.set(holder, scopes);
    heldInProcess.add(holder);
    l.inUse += n;
    let got: number[] = [];
    try {
      const takeSome = (k: number) => {
        const now = this.d.clock.now();
        return this.d.repo.takeSome(request.scope, request.cap, k, holder, purpose, now.toISOString(), new Date(now.getTime() + this.d.leaseMs).toISOString());
      };
      got = await takeSome(n);
      if (got.length < n && this.deadCheckDue(request.scope) && (await this.freeDead(request.scope)) > 0) got = [...got, ...(await takeSome(n - got.length))];
    } catch (err) {
      l.inUse -= n;
      await this.release(holder);
      throw new SlotStoreError(err);
    }
    l.inUse -= n - got.length;
    scopes[0]!.count = got.length;
    if (!got.length) {
      this.held.delete(holder);
      heldInProcess.delete(holder);
      return [];
    }
    this.renewWhileHeld();
    return got.map((slot) => this.batchSlot(request.scope, slot, holder));
  }

  /** Release several slots of one `acquireSome` batch in one statement. */
  async releaseAll(slots: Slot[]): Promise<void> {
    const mine = slots.map((s) => this.batchSlots.get(s)).filter((x) => x !== undefined);
    for (const s of slots) this.batchSlots.delete(s);
    const byHolder = new Map<string, typeof mine>();
    for (const x of mine) byHolder.set(`${x.holder}\n${x.scope}`, [...(byHolder.get(`${x.holder}\n${x.scope}`) ?? []), x]);
    for (const group of byHolder.values()) {
      const { holder, scope } = group[0]!;
      try {
        await this.d.repo.dropSome(
          scope,
          group.map((x) => x.slot),
          holder,
        );
      } catch (err) {
        this.d.logger.warn({ err, holder }, 'could not free connection slots (store unreachable?): they are freed when their lease ends');
      }
      this.forget(holder, scope, group.length);
    }
  }

  /** The batch slots not released yet (their holder, scope and number). */
  private readonly batchSlots = new Map<Slot, { holder: string; scope: string; slot: number }>();

  private batchSlot(scope: string, slot: number, holder: string): Slot {
    let released: Promise<void> | undefined;
    const s: Slot = {
      holder,
      release: () =>
        (released ??= (async () => {
          if (!this.batchSlots.delete(s)) return; // released with releaseAll
          try {
            await this.d.repo.dropSome(scope, [slot], holder);
          } catch (err) {
            this.d.logger.warn({ err, holder }, 'could not free a connection slot (store unreachable?); its lease will');
          }
          this.forget(holder, scope, 1);
        })()),
    };
    this.batchSlots.set(s, { holder, scope, slot });
    return s;
  }

  /** `count` slots of a batch holder are gone: the local count drops, the holder goes with its last slot. */
  private forget(holder: string, scope: string, count: number): void {
    const scopes = this.held.get(holder);
    const entry = scopes?.find((x) => x.scope === scope);
    if (entry) {
      entry.count -= count;
      if (entry.count <= 0) {
        this.held.delete(holder);
        heldInProcess.delete(holder);
      }
    }
    const l = this.local(scope);
    l.inUse -= count;
    l.waiters[0]?.wake();
  }

  /** When `acquireSome` last looked for dead holders, per scope. */
  private readonly deadChecked = new Map<string, number>();

  /**
   * A worker admitting at every fetch finds the estate's scope full most of the time while a session runs at
   * its cap: it reads the scope's rows for dead holders at most once a second (a dead process is rare; a second
   * more of its slots changes nothing), not at every short answer.
   */
  private deadCheckDue(scope: string): boolean {
    const t = performance.now();
    if (t - (this.deadChecked.get(scope) ?? -Infinity) < DEAD_CHECK_MS) return false;
    this.deadChecked.set(scope, t);
    return true;
  }

  /** Free the live rows of dead holders in a scope; returns how many. */
  private async freeDead(scope: string): Promise<number> {
    const at = this.d.clock.now().toISOString();
    const freed = new Map<string, number>();
    for (const x of await this.d.repo.held(scope)) {
      if (x.expires_at < at || !this.dead(x.holder)) continue;
      // Compare-and-delete: a row its holder freed meanwhile (a job of this process that just ended) is no news.
      if (await this.d.repo.drop(scope, x.slot, x.holder)) freed.set(x.holder, (freed.get(x.holder) ?? 0) + 1);
    }
    for (const [holder, slots] of freed) this.d.logger.warn({ scope, slots, dead_holder: holder }, 'freed the connection slots of a process that is gone');
    return [...freed.values()].reduce((a, b) => a + b, 0);
  }

  /** A slot now or undefined (no wait); store errors throw. */
  async tryAcquire(request: SlotRequest, purpose: SlotPurpose): Promise<Slot | undefined> {
    try {
      return await this.acquire([request], { purpose, waitMs: 0 });
    } catch (err) {
      if (err instanceof SlotBusy) return undefined;
      throw err;
    }
  }

  private local(scope: string): Local {
    let l = this.locals.get(scope);
    if (!l) this.locals.set(scope, (l = { inUse: 0, waiters: [] }));
    return l;
  }

  private async one(r: Required<SlotRequest>, holder: string, purpose: SlotPurpose, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    const l = this.local(r.scope);
    const me: Waiter = { wake: () => {} };
    l.waiters.push(me);
    let poll = POLL_MIN_MS;
    try {
      for (;;) {
        if (signal?.aborted) throw new SlotAborted();
        const head = l.waiters[0] === me;
        if (head && l.inUse + r.count <= r.cap) {
          l.inUse += r.count;
          let ok: boolean;
          try {
            ok = await this.take(r, holder, purpose);
          } catch (err) {
            l.inUse -= r.count;
            throw new SlotStoreError(err);
          }
          if (ok) return;
          l.inUse -= r.count; // full in the store: other processes hold the slots
        }
        const left = deadline - performance.now();
        if (left <= 0) throw new SlotBusy(r);
        // The head polls (the store, or a cap changed in the settings); the others wait for their turn.
        await this.sleep(me, Math.min(head ? poll : MAX_SLEEP_MS, left), signal);
        if (head) poll = Math.min(poll * 2, POLL_MAX_MS);
      }
    } finally {
      const at = l.waiters.indexOf(me);
      if (at >= 0) l.waiters.splice(at, 1);
      // The next in line tries at once: a slot may be free (this one took one of several, or gave up).
      if (at === 0) l.waiters[0]?.wake();
    }
  }

  private sleep(me: Waiter, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        me.wake = () => {};
        resolve();
      };
      const t = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      me.wake = done;
    });
  }

  /**
   * One statement when the scope has room: free numbers taken at random
   * (`takeSome`, all or none: a short answer gives back what it got). When
   * the scope is full, the rows of dead holders (this process: a holder it
   * no longer has; this host: a dead pid) are freed and it is asked once more.
   */
  private async take(r: Required<SlotRequest>, holder: string, purpose: SlotPurpose): Promise<boolean> {
    for (let round = 0; round < 2; round++) {
      const now = this.d.clock.now();
      const got = await this.d.repo.takeSome(
        r.scope,
        r.cap,
        r.count,
        holder,
        purpose,
        now.toISOString(),
        new Date(now.getTime() + this.d.leaseMs).toISOString(),
      );
      if (got.length === r.count) return true;
      if (got.length) await this.d.repo.dropSome(r.scope, got, holder);
      if (round === 0 && (await this.freeDead(r.scope)) === 0) return false;
    }
    return false;
  }

  /** A holder of this process that is no longer held, or one of a dead pid on this host. */
  private dead(holder: string): boolean {
    if (holder.startsWith(`${PROCESS_TAG}:`)) return !heldInProcess.has(holder);
    return holderAlive(holder) === false;
  }

  private async release(holder: string): Promise<void> {
    const scopes = this.held.get(holder);
    if (!scopes) return;
    if (scopes.length) await this.dropSoon(holder);
    // Guessed again only once the rows are gone (a guess at a number whose row is still there misses, and stops guessing).
    this.guesses.release(holder);
    this.held.delete(holder);
    heldInProcess.delete(holder);
    for (const { scope, count } of scopes) {
      const l = this.local(scope);
      l.inUse -= count;
      l.waiters[0]?.wake();
    }
  }

  /** Holders whose slots are being freed (left out of the lease renewal). */
  private readonly releasing = new Set<string>();
  /** Release statements, one per batch of holders (lib/batches.ts). */
  private readonly drops = new Batches<string>(async (holders) => {
    try {
      await this.d.repo.releaseMany(holders).catch((err: { code?: string }) => {
        if (err.code === '40P01') return this.d.repo.releaseMany(holders);
        throw err;
      });
    } catch (err) {
      // Not renewed any more: the lease ends them (and waiters here treat them as dead at once).
      this.d.logger.warn({ err, holders: holders.length }, 'could not free connection slots (store unreachable?): they are freed when their lease ends');
    } finally {
      for (const h of holders) this.releasing.delete(h);
    }
  }, DROP_WAIT_MS);

  /**
   * Free a holder's slots together with the others released about the same moment: one statement per
   * batch, not per holder (every sync record releases its connection's slots). A batch is sent once the one
   * before it is answered, or DROP_WAIT_MS after it was sent (a statement the store does not answer must not
   * hold up every release). A deadlock with another statement on the same rows (40P01) is tried once more.
   */
  private async dropSoon(holder: string): Promise<void> {
    this.releasing.add(holder);
    await this.drops.add(holder);
  }

  /** While this process holds slots, push their lease every heartbeat; a failed renewal is retried at the next. */
  private renewWhileHeld(): void {
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => {
      // Not those being released: their rows are going, and renewing them could lock the same rows as the release, in another order.
      const holders = [...this.held.keys()].filter((h) => !this.releasing.has(h));
      if (this.held.size === 0) {
        clearInterval(this.renewTimer);
        this.renewTimer = undefined;
        return;
      }
      const expires = new Date(this.d.clock.now().getTime() + this.d.leaseMs).toISOString();
      this.d.repo
        .renew(holders, expires)
        .catch((err) => this.d.logger.warn({ err, holders: holders.length }, 'could not renew connection slots (store unreachable?)'));
    }, this.d.heartbeatMs);
    this.renewTimer.unref();
  }
}
