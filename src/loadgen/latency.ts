import { build, type Histogram } from 'hdr-histogram-js';

// Latencies are buffered in a typed array and moved into the HDR histogram in batches, so the hot loop
// pays one array store per call instead of a histogram update.

const BATCH = 8192;
/** Highest trackable latency: one hour in microseconds (longer calls are clamped, never dropped). */
const MAX_MICROS = 3_600_000_000;

/** Latency summary of one operation type, in milliseconds. */
export interface LatencySummary {
  count: number;
  avgMs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  stddevMs: number;
}

/** Batched latency recorder backed by an HDR histogram (3 significant digits, microsecond unit). */
export class LatencyRecorder {
  readonly histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_MICROS,
    numberOfSignificantValueDigits: 3,
  });
  private readonly batch = new Float64Array(BATCH);
  private size = 0;

  /** With `sinkOnly` samples only go to `onBatch` (a worker thread whose main thread keeps the histogram). */
  constructor(
    private readonly onBatch?: (micros: Float64Array, count: number) => void,
    private readonly sinkOnly = false,
  ) {}

  /** Records one latency given in milliseconds (performance.now() differences). */
  record(ms: number): void {
    this.batch[this.size++] = ms * 1000;
    if (this.size === BATCH) this.flush();
  }

  /** Moves buffered samples into the histogram (and to the optional batch sink). */
  flush(): void {
    const h = this.histogram;
    for (let i = 0; i < this.size && !this.sinkOnly; i++) {
      const us = Math.round(this.batch[i]!);
      h.recordValue(us < 1 ? 1 : us > MAX_MICROS ? MAX_MICROS : us);
    }
    this.onBatch?.(this.batch, this.size);
    this.size = 0;
  }

  summary(): LatencySummary {
    this.flush();
    return summarize(this.histogram);
  }
}

/** Count, mean, extremes and percentiles (in ms) of a histogram recorded in microseconds. */
export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number): number => us / 1000;
  if (h.totalCount === 0)
    return { count: 0, avgMs: 0, minMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, stddevMs: 0 };
  return {
    count: h.totalCount,
    avgMs: ms(h.mean),
    minMs: ms(h.minNonZeroValue),
    p50Ms: ms(h.getValueAtPercentile(50)),
    p95Ms: ms(h.getValueAtPercentile(95)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    stddevMs: ms(h.stdDeviation),
  };
}
