import { classifyTransportError } from '../util/classify-transport.js';
import { describeError, MonitorError, RequestTimeoutError } from '../util/errors.js';
import type { CollectorResult } from './snapshot.js';

/**
 * Runs one collector call and records its outcome, duration and, on failure, the error's stable code.
 * The hard limit is a backstop on top of each client's own deadline, so no single member can ever
 * stall a collection round; hitting it is a REQUEST_TIMEOUT like the clients' own deadlines.
 */
export async function timed<T>(
  hardLimitMs: number,
  fn: () => Promise<T>,
  ctx: { readonly endpoint: string; readonly what: string },
): Promise<CollectorResult<T>> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeoutError(ctx.endpoint, hardLimitMs, ctx)), hardLimitMs);
  });
  try {
    const value = await Promise.race([fn(), limit]);
    return { ok: true, value, at: Date.now(), durationSeconds: (performance.now() - start) / 1000 };
  } catch (err) {
    // Errors of our own keep their code; anything that escaped a client unclassified is classified here.
    const error = err instanceof MonitorError ? err : classifyTransportError(err, ctx);
    return {
      ok: false,
      error: describeError(error),
      code: error.code,
      at: Date.now(),
      durationSeconds: (performance.now() - start) / 1000,
    };
  } finally {
    clearTimeout(timer);
  }
}
