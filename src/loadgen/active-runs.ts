// Benchmark runs started through the API in this process, so the exporter's shutdown can stop them
// and wait until each has deleted its keys (an API run outlives the request that started it). Kept
// apart from the routes so the exporter imports it without loading the benchmark engine.

interface ActiveRun {
  readonly controller: AbortController;
  readonly done: Promise<unknown>;
}

const active = new Set<ActiveRun>();

/** Registers a run until `done` settles; aborting `controller` interrupts it (its cleanup still runs). */
export function trackRun(controller: AbortController, done: Promise<unknown>): void {
  const run: ActiveRun = { controller, done };
  active.add(run);
  void done.finally(() => active.delete(run)).catch(() => undefined);
}

/** Interrupts every API run and resolves once each has finished its cleanup. */
export async function stopBenchmarkRuns(): Promise<void> {
  const runs = [...active];
  for (const run of runs) run.controller.abort();
  await Promise.allSettled(runs.map((run) => run.done));
}
