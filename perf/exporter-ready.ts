import { waitFor, type TrackedProcess } from '../harness/processes.js';

/** Waits (up to a minute) for the exporter child at `base` to answer /ready with 200; fails if it exits. */
export async function waitExporterReady(child: TrackedProcess, base: string): Promise<void> {
  await waitFor(
    async () => {
      if (!child.running) throw new Error(`exporter exited:\n${child.output()}`);
      const res = await fetch(`${base}/ready`).catch(() => undefined);
      await res?.body?.cancel();
      return res?.status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'the exporter to be ready' },
  );
}
