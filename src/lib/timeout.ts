import { SyncError } from './errors.js';

/**
 * Race `work` against a deadline. On expiry `onTimeout` runs (destroy the
 * socket, cancel the query) and the promise rejects with a `timeout` SyncError:
 * a server that accepts and never answers must not hold a sync forever.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        onTimeout?.();
      } catch {
        /* the timeout error below is what matters */
      }
      reject(new SyncError('timeout', `${what}超时 (${ms} ms)`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
