/** Run `fn` over `items` with at most `limit` in flight; results keep input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

/**
 * Let the event loop run what is ready (socket reads, timers) before the
 * caller's next synchronous stretch. The SQLite store's statements run on the
 * loop itself: a sync that saves as soon as its own reply arrives makes every
 * other instance's reply, already in, wait behind that save. Yielding first
 * lets those replies move their connections on, so the network waits overlap
 * the store work instead of queueing behind it.
 */
export function yieldToIo(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A yield to I/O at most every `sliceMs` of synchronous work: call it between items of a long loop
 * (`const pace = pacer(); for (…) { await pace(); … }`) and the loop never holds the event loop longer
 * than about one slice, however slow each item is on a loaded machine.
 */
export function pacer(sliceMs = 10): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < sliceMs) return;
    await yieldToIo();
    since = performance.now();
  };
}
