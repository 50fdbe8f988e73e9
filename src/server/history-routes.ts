import { Router, type Request } from 'express';
import { fetch } from 'undici';
import { parseDurationMs } from '../util/duration.js';
import { HttpError, oneQueryParam } from '../http/errors.js';

/**
 * Named series of GET /metrics/history, each a PromQL template over the exporter's own metrics; `$sel` becomes
 * the cluster selector. Only presets are offered, so a viewer cannot send arbitrary (expensive) PromQL.
 */
export const HISTORY_METRICS = {
  request_rate: {
    unit: 'requests/s',
    expr: 'sum by (cluster) (etcd_monitor_member_requests_per_second{$sel})',
  },
  error_rate: {
    unit: 'errors/s',
    expr: 'sum by (cluster) (etcd_monitor_member_request_errors_per_second{$sel})',
  },
  read_latency_p50: { unit: 'seconds', expr: probeQuantile(0.5, 'read') },
  read_latency_p95: { unit: 'seconds', expr: probeQuantile(0.95, 'read') },
  read_latency_p99: { unit: 'seconds', expr: probeQuantile(0.99, 'read') },
  write_latency_p50: { unit: 'seconds', expr: probeQuantile(0.5, 'write') },
  write_latency_p95: { unit: 'seconds', expr: probeQuantile(0.95, 'write') },
  write_latency_p99: { unit: 'seconds', expr: probeQuantile(0.99, 'write') },
  db_size: { unit: 'bytes', expr: 'max by (cluster) (etcd_monitor_member_db_size_bytes{$sel})' },
  db_size_in_use: {
    unit: 'bytes',
    expr: 'max by (cluster) (etcd_monitor_member_db_size_in_use_bytes{$sel})',
  },
  members_healthy: { unit: 'members', expr: 'max by (cluster) (etcd_monitor_cluster_members_healthy{$sel})' },
  has_leader: { unit: 'boolean', expr: 'min by (cluster) (etcd_monitor_cluster_has_leader{$sel})' },
  quorum_available: {
    unit: 'boolean',
    expr: 'min by (cluster) (etcd_monitor_cluster_quorum_available{$sel})',
  },
  leader_changes_last_hour: {
    unit: 'changes',
    expr: 'max by (cluster) (etcd_monitor_cluster_leader_changes_last_hour{$sel})',
  },
} as const;

export type HistoryMetric = keyof typeof HISTORY_METRICS;

function probeQuantile(q: number, op: 'read' | 'write'): string {
  return `histogram_quantile(${q}, sum by (cluster, le) (rate(etcd_monitor_probe_duration_seconds_bucket{operation="${op}",$sel}[1m])))`;
}

/** Prometheus refuses range queries of more than 11,000 points per series. */
export const MAX_POINTS = 11_000;
const DEFAULT_RANGE_MS = 3_600_000;
const DEFAULT_POINTS = 240;
const QUERY_TIMEOUT_MS = 15_000;

export interface HistoryRoutesDeps {
  /** Base URL of the Prometheus that scrapes this exporter (--prometheus-url); unset → 503. */
  readonly prometheusUrl?: string;
}

/** A PromQL string literal for a label value (escapes backslash, quote, newline). */
export function promString(value: string): string {
  return JSON.stringify(value);
}

/** Accepts RFC 3339 or Unix seconds, like Prometheus. */
function parseTime(raw: string, name: string): number {
  const ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
  if (!Number.isFinite(ms))
    throw new HttpError(400, 'BAD_PARAMETER', `${name} must be RFC 3339 or Unix seconds`);
  return ms;
}

/** Parses and bounds the query parameters of GET /metrics/history. */
export function parseHistoryQuery(
  req: Request,
  now = Date.now(),
): {
  metric: HistoryMetric;
  cluster?: string;
  startMs: number;
  endMs: number;
  stepMs: number;
} {
  const known = new Set(['metric', 'cluster', 'start', 'end', 'step']);
  const unknown = Object.keys(req.query).filter((k) => !known.has(k));
  if (unknown.length)
    throw new HttpError(400, 'UNKNOWN_PARAMETER', `unknown parameter(s): ${unknown.join(', ')}`);
  const metric = oneQueryParam(req, 'metric');
  if (!metric)
    throw new HttpError(
      400,
      'BAD_PARAMETER',
      `metric is required (one of ${Object.keys(HISTORY_METRICS).join(', ')})`,
    );
  if (!(metric in HISTORY_METRICS)) {
    throw new HttpError(
      400,
      'UNKNOWN_METRIC',
      `unknown metric "${metric}" (one of ${Object.keys(HISTORY_METRICS).join(', ')})`,
    );
  }
  const endRaw = oneQueryParam(req, 'end');
  const startRaw = oneQueryParam(req, 'start');
  const endMs = endRaw ? parseTime(endRaw, 'end') : now;
  const startMs = startRaw ? parseTime(startRaw, 'start') : endMs - DEFAULT_RANGE_MS;
  if (startMs >= endMs) throw new HttpError(400, 'BAD_PARAMETER', 'start must be before end');
  const stepRaw = oneQueryParam(req, 'step');
  let stepMs: number;
  try {
    stepMs = stepRaw
      ? parseDurationMs(stepRaw)
      : Math.max(1000, Math.ceil((endMs - startMs) / DEFAULT_POINTS / 1000) * 1000);
  } catch (err) {
    throw new HttpError(400, 'BAD_PARAMETER', `step: ${(err as Error).message}`);
  }
  if (stepMs < 1000) throw new HttpError(400, 'BAD_PARAMETER', 'step must be at least 1s');
  if ((endMs - startMs) / stepMs > MAX_POINTS) {
    throw new HttpError(
      400,
      'RANGE_TOO_LARGE',
      `more than ${MAX_POINTS} points per series; use a larger step`,
    );
  }
  const cluster = oneQueryParam(req, 'cluster');
  return { metric: metric as HistoryMetric, ...(cluster ? { cluster } : {}), startMs, endMs, stepMs };
}

interface PromRangeResponse {
  status: 'success' | 'error';
  data?: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
  errorType?: string;
  error?: string;
}

/**
 * GET /metrics/history?metric=&cluster=&start=&end=&step= — a range query answered by Prometheus'
 * /api/v1/query_range. 503 HISTORY_UNAVAILABLE without --prometheus-url; 502 when Prometheus fails.
 */
export function createHistoryRoutes(deps: HistoryRoutesDeps): Router {
  const router = Router();
  const base = deps.prometheusUrl?.replace(/\/+$/, '');

  router.get('/metrics/history', async (req, res) => {
    if (!base) {
      throw new HttpError(
        503,
        'HISTORY_UNAVAILABLE',
        'metrics history needs a Prometheus: start the exporter with --prometheus-url',
      );
    }
    const q = parseHistoryQuery(req);
    const def = HISTORY_METRICS[q.metric];
    const selector = q.cluster ? `cluster=${promString(q.cluster)}` : '';
    const expr = def.expr.replaceAll(',$sel', selector ? `,${selector}` : '').replaceAll('$sel', selector);
    const params = new URLSearchParams({
      query: expr,
      start: String(q.startMs / 1000),
      end: String(q.endMs / 1000),
      step: `${q.stepMs / 1000}s`,
    });
    let body: PromRangeResponse;
    try {
      const answer = await fetch(`${base}/api/v1/query_range`, {
        method: 'POST',
        body: params,
        signal: AbortSignal.timeout(QUERY_TIMEOUT_MS),
      });
      body = (await answer.json()) as PromRangeResponse;
    } catch (err) {
      throw new HttpError(
        502,
        'PROMETHEUS_UNREACHABLE',
        `Prometheus at ${base} did not answer: ${(err as Error).message}`,
      );
    }
    if (body.status !== 'success' || !body.data) {
      throw new HttpError(
        502,
        'PROMETHEUS_ERROR',
        `Prometheus rejected the query: ${body.errorType ?? ''} ${body.error ?? ''}`.trim(),
      );
    }
    res.json({
      metric: q.metric,
      unit: def.unit,
      cluster: q.cluster ?? null,
      start: new Date(q.startMs).toISOString(),
      end: new Date(q.endMs).toISOString(),
      step_seconds: q.stepMs / 1000,
      query: expr,
      series: body.data.result.map((s) => ({
        cluster: s.metric.cluster ?? null,
        // Prometheus sends values as strings so NaN/Inf survive JSON; null stands in for those here.
        points: s.values.map(([t, v]) => [t, Number.isFinite(Number(v)) ? Number(v) : null]),
      })),
    });
  });

  return router;
}
