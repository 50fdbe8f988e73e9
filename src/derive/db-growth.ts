/** DB size observations of one member, newest last. */
export type SizeSamples = readonly { readonly at: number; readonly bytes: number }[];

const WINDOW_MS = 3_600_000;
const MAX_SAMPLES = 720;

/**
 * Adds a size observation. A shrink (compaction + defragmentation) starts the series afresh, so the
 * growth figure never extrapolates across a defrag — the defect etcd#12550 reported in the mixin.
 */
export function addSizeSample(samples: SizeSamples, at: number, bytes: number): SizeSamples {
  const last = samples[samples.length - 1];
  if (last && at <= last.at) return samples;
  if (last && bytes < last.bytes) return [{ at, bytes }];
  const kept = samples.filter((s) => at - s.at <= WINDOW_MS);
  return [...kept.slice(Math.max(0, kept.length - MAX_SAMPLES + 1)), { at, bytes }];
}

/** Least-squares slope in bytes per second; needs three samples spanning at least 10 seconds. */
export function growthBytesPerSecond(samples: SizeSamples): number | undefined {
  if (samples.length < 3) return undefined;
  const t0 = (samples[0] as { at: number }).at;
  const span = ((samples[samples.length - 1] as { at: number }).at - t0) / 1000;
  if (span < 10) return undefined;
  const n = samples.length;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const s of samples) {
    const x = (s.at - t0) / 1000;
    sx += x;
    sy += s.bytes;
    sxx += x * x;
    sxy += x * s.bytes;
  }
  const denominator = n * sxx - sx * sx;
  if (denominator === 0) return undefined;
  return (n * sxy - sx * sy) / denominator;
}

/** Seconds until size reaches quota at the current growth; only meaningful while growing. */
export function secondsUntilFull(
  sizeBytes: number,
  quotaBytes: number | undefined,
  growth: number | undefined,
): number | undefined {
  if (quotaBytes === undefined || growth === undefined || growth <= 0) return undefined;
  return Math.max(0, (quotaBytes - sizeBytes) / growth);
}
