import { fetch } from 'undici';
import type { RunningPrometheus } from '../harness/prometheus.js';

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
interface MatrixSample {
  metric: Record<string, string>;
  values: [number, string][];
}

/** An instant query evaluated at `time` (Unix seconds): a vector, or a matrix for a range selector. */
async function queryAt<T>(prom: RunningPrometheus, expr: string, time: number): Promise<T[]> {
  const url = `${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time.toFixed(3)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const body = (await res.json()) as { status: string; data: { result: T[] }; error?: string };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? res.status}`);
  return body.data.result;
}

/** One number from a query that yields a single-sample vector (NaN when empty). */
export async function scalarAt(prom: RunningPrometheus, expr: string, time: number): Promise<number> {
  const result = await queryAt<VectorSample>(prom, expr, time);
  return result.length > 0 ? Number(result[0]?.value[1]) : NaN;
}

/** Every sample of `series` in the `seconds` before `end`, over all matching series. */
export async function samplesIn(
  prom: RunningPrometheus,
  series: string,
  seconds: number,
  end: number,
): Promise<number[]> {
  const result = await queryAt<MatrixSample>(prom, `${series}[${Math.round(seconds * 1000)}ms]`, end);
  return result.flatMap((s) => s.values.map(([, v]) => Number(v)));
}

/** A vector keyed by `collector:code` (the labels of the collector error counter). */
export async function vectorAt(
  prom: RunningPrometheus,
  expr: string,
  time: number,
): Promise<Record<string, number>> {
  const result = await queryAt<VectorSample>(prom, expr, time);
  return Object.fromEntries(
    result.map((s) => [`${s.metric.collector ?? ''}:${s.metric.code ?? ''}`, Number(s.value[1])]),
  );
}
