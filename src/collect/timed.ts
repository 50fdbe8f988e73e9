import { describeError } from '../util/errors.js';
import type { CollectorResult } from './snapshot.js';

/**
 * Runs one collector call and records its outcome and duration. The hard limit is a backstop on top
 * of each client's own deadline, so no single member can ever stall a collection round.
 */
export async function timed<T>(hardLimitMs: number, fn: () => Promise<T>): Promise<CollectorResult<T>> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${hardLimitMs} ms`)), hardLimitMs);
  });
  try {
    const value = await Promise.race([fn(), limit]);
    return { ok: true, value, at: Date.now(), durationSeconds: (performance.now() - start) / 1000 };
  } catch (err) {
    return {
      ok: false,
      error: describeError(err),
      at: Date.now(),
      durationSeconds: (performance.now() - start) / 1000,
    };
  } finally {
    clearTimeout(timer);
  }
}
