/**
 * The slot numbers a process guesses free before it asks the store (connection-slots.ts, `takeAllAtOnce`).
 * A connection takes one slot in its instance's scope and one in the estate's; finding a free number in the
 * estate's scope reads every live slot of it (128 at concurrency 128). Most often this process is the only one
 * taking slots there, so the lowest number it neither holds nor is guessing right now is free, and the store
 * checks that guess with index lookups alone (`SlotsRepository.takeOneEach`). When another process holds numbers
 * in a scope, a guess there misses (the full statement answers in the same call): that scope then goes the full
 * way for GUESS_BACKOFF_MS, and until a guess in it has hit again, one guess at a time is tried there, not one
 * for every connection of a wave — processes sharing a scope pay about one statement more each GUESS_BACKOFF_MS.
 *
 *   const guesses = g.guess(requests);   // undefined: ask without guesses
 *   const got = await repo.takeOneEach(…guesses…);
 *   g.settle(requests, guesses, ok ? got : []); g.hold(holder, got) … g.release(holder)
 */

/** After a missed guess in a scope, how long its connections go the full way. */
const GUESS_BACKOFF_MS = 10_000;

interface ScopeNumbers {
  /** Held by this process in the scope (`hold`) or being guessed now. */
  numbers: Set<number>;
  /** Guesses out now. */
  guessing: number;
  /** A guess here hit, and none missed since: guesses are tried for every connection at once. */
  confirmed: boolean;
  /** When a guess here last missed. */
  missedAt?: number;
}

export class SlotGuesses {
  private readonly scopes = new Map<string, ScopeNumbers>();
  private readonly byHolder = new Map<string, { scope: string; slot: number }[]>();
  private sweptAt = performance.now();

  /**
   * The lowest number below each cap that this process neither holds nor is guessing, marked as being guessed
   * (two takes at once guess apart) until `settle`. Undefined when a scope missed lately, has a guess out
   * without one having hit since its last miss, or has no such number.
   */
  guess(requests: { scope: string; cap: number }[]): number[] | undefined {
    const t = performance.now();
    if (t - this.sweptAt > GUESS_BACKOFF_MS) this.sweep(t);
    const entries = requests.map((r) => this.of(r.scope));
    if (entries.some((e) => (e.missedAt !== undefined && t - e.missedAt < GUESS_BACKOFF_MS) || (!e.confirmed && e.guessing > 0))) return undefined;
    const guesses = entries.map((e, i) => {
      let n = 0;
      while (e.numbers.has(n)) n++;
      return n < requests[i]!.cap ? n : -1;
    });
    if (guesses.includes(-1)) return undefined;
    entries.forEach((e, i) => {
      e.numbers.add(guesses[i]!);
      e.guessing++;
    });
    return guesses;
  }

  /** The take that carried `guesses` is answered with `got` (empty when it failed): the scopes whose guess was not taken missed. */
  settle(requests: { scope: string }[], guesses: number[], got: { scope: string; slot: number }[]): void {
    const t = performance.now();
    requests.forEach((r, i) => {
      const e = this.of(r.scope);
      e.numbers.delete(guesses[i]!);
      e.guessing--;
      const hit = got.some((g) => g.scope === r.scope && g.slot === guesses[i]);
      e.confirmed = hit;
      if (!hit) e.missedAt = t;
    });
  }

  /** `holder` has these numbers (not guessed while it holds them). */
  hold(holder: string, got: { scope: string; slot: number }[]): void {
    for (const g of got) this.of(g.scope).numbers.add(g.slot);
    this.byHolder.set(holder, got);
  }

  /** `holder`'s rows are gone: its numbers can be guessed again. */
  release(holder: string): void {
    for (const { scope, slot } of this.byHolder.get(holder) ?? []) this.scopes.get(scope)?.numbers.delete(slot);
    this.byHolder.delete(holder);
  }

  /** Scopes with nothing held or guessed and no recent miss are forgotten (a connection's instance scope, once it is done). */
  private sweep(t: number): void {
    this.sweptAt = t;
    for (const [scope, e] of this.scopes)
      if (!e.numbers.size && !e.guessing && (e.missedAt === undefined || t - e.missedAt >= GUESS_BACKOFF_MS)) this.scopes.delete(scope);
  }

  private of(scope: string): ScopeNumbers {
    let e = this.scopes.get(scope);
    if (!e) this.scopes.set(scope, (e = { numbers: new Set(), guessing: 0, confirmed: false }));
    return e;
  }
}
