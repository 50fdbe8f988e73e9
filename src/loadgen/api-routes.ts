import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import type { MonitorConfig } from '../config/types.js';
import { HttpError } from '../http/errors.js';
import { describeError, MonitorError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { WORKLOADS, type Workload } from './load.js';
import { API_LIMITS, BODY_FIELDS } from './api-limits.js';
import { trackRun } from './active-runs.js';
import { benchAuth, BENCH_DEFAULTS } from './options.js';
import { checkPrefixEmpty, runBenchmark } from './run.js';
import { validateBenchOptions, type BenchOptions } from './spec.js';
import { DEFAULT_SLO } from './slo.js';
import { BenchmarkStore, compareRuns, type StoredRun } from './store.js';

interface Running {
  id: string;
  startedAt: string;
  request: Record<string, unknown>;
  completed: number;
}

function intField(
  body: Record<string, unknown>,
  name: string,
  fallback: number | undefined,
  max: number,
): number | undefined {
  const v = body[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new HttpError(400, 'INVALID_FIELD', `${name} must be a positive integer`);
  if (v > max) throw new HttpError(400, 'LIMIT_EXCEEDED', `${name} ${v} is above the API bound ${max}`);
  return v;
}

/** Validates a POST body into run options (400 with a stable code on any problem). */
export function parseBenchmarkRequest(raw: unknown, config: MonitorConfig): BenchOptions {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new HttpError(400, 'INVALID_BODY', 'expected a JSON object');
  const body = raw as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !BODY_FIELDS.has(k));
  if (unknown.length)
    throw new HttpError(
      400,
      'UNKNOWN_FIELD',
      `unknown field(s): ${unknown.join(', ')} (known: ${[...BODY_FIELDS].join(', ')})`,
    );
  const type = body['type'] ?? 'write';
  if (typeof type !== 'string' || !(WORKLOADS as readonly string[]).includes(type)) {
    throw new HttpError(400, 'INVALID_TYPE', `type must be one of ${WORKLOADS.join(', ')}`);
  }
  const clusterName = body['cluster'];
  const cluster =
    clusterName === undefined ? config.clusters[0] : config.clusters.find((c) => c.name === clusterName);
  if (!cluster)
    throw new HttpError(404, 'UNKNOWN_CLUSTER', `no cluster named ${JSON.stringify(clusterName)}`);
  const ds = body['durationSeconds'];
  if (ds !== undefined && (typeof ds !== 'number' || !(ds > 0)))
    throw new HttpError(400, 'INVALID_FIELD', 'durationSeconds must be a positive number');
  if (typeof ds === 'number' && ds * 1000 > API_LIMITS.maxDurationMs)
    throw new HttpError(
      400,
      'LIMIT_EXCEEDED',
      `durationSeconds ${ds} is above the API bound ${API_LIMITS.maxDurationMs / 1000}`,
    );
  const consistency = body['consistency'] ?? 'l';
  if (consistency !== 'l' && consistency !== 's')
    throw new HttpError(400, 'INVALID_FIELD', 'consistency must be "l" or "s"');
  const rate = body['rate'];
  if (rate !== undefined && (typeof rate !== 'number' || !(rate > 0)))
    throw new HttpError(400, 'INVALID_FIELD', 'rate must be a positive number');
  const prefix = body['prefix'];
  if (
    prefix !== undefined &&
    (typeof prefix !== 'string' ||
      prefix.length === 0 ||
      Buffer.byteLength(prefix) > API_LIMITS.maxPrefixBytes)
  )
    throw new HttpError(
      400,
      'INVALID_FIELD',
      `prefix must be a non-empty string of at most ${API_LIMITS.maxPrefixBytes} bytes`,
    );
  const compact = body['compact'] ?? false;
  if (typeof compact !== 'boolean')
    throw new HttpError(400, 'INVALID_FIELD', 'compact must be true or false');
  const clients = intField(body, 'clients', BENCH_DEFAULTS.clients, API_LIMITS.maxClients)!;
  const opts: BenchOptions = {
    endpoints: cluster.endpoints,
    tls: cluster.tls,
    workload: type as Workload,
    // Always bounded: a duration-only run also stops at maxOps.
    ops: intField(body, 'ops', ds === undefined ? BENCH_DEFAULTS.ops : API_LIMITS.maxOps, API_LIMITS.maxOps),
    durationMs: typeof ds === 'number' ? ds * 1000 : API_LIMITS.maxDurationMs,
    clients,
    conns: intField(body, 'conns', Math.min(BENCH_DEFAULTS.conns, clients), API_LIMITS.maxConns)!,
    keySize: intField(body, 'keySize', BENCH_DEFAULTS.keySize, API_LIMITS.maxKeySize)!,
    valSize: intField(body, 'valSize', BENCH_DEFAULTS.valSize, API_LIMITS.maxValSize)!,
    keySpace: intField(body, 'keySpace', BENCH_DEFAULTS.keySpace, API_LIMITS.maxKeySpace)!,
    sequentialKeys: false,
    consistency,
    rate: rate as number | undefined,
    // Absent: the run's own /etcd-monitor/bench/<run-id>/.
    ...(typeof prefix === 'string' ? { prefix } : {}),
    // Cluster-wide (every key's history), so only on an explicit `"compact": true`.
    compact,
    discoverMembers: cluster.discoverMembers,
    ...benchAuth(cluster),
    client: 'lean',
    readRatio: BENCH_DEFAULTS.readRatio,
    slo: DEFAULT_SLO,
    dialTimeoutMs: config.dialTimeoutMs,
    requestTimeoutMs: Math.max(config.requestTimeoutMs, 30_000),
  };
  try {
    validateBenchOptions(opts);
  } catch (err) {
    throw new HttpError(400, 'INVALID_FIELD', describeError(err));
  }
  return opts;
}

/**
 * `POST /performance/benchmark` (start, one at a time: 409 while busy) and
 * `GET /performance/benchmark[/{id}]` (status and result; the list compares the last runs).
 * Finished runs are appended to `<dataDir>/benchmark-results.jsonl`.
 */
export function createBenchmarkRoutes(deps: { config: MonitorConfig; log: Logger }): Router {
  const router = Router();
  const store = new BenchmarkStore(deps.config.dataDir);
  let running: Running | undefined;
  // Results of this process's runs, so a GET right after completion does not depend on the file.
  const recent = new Map<string, StoredRun>();

  router.post('/performance/benchmark', express.json({ limit: '4kb' }), async (req, res) => {
    const options = parseBenchmarkRequest(req.body ?? {}, deps.config);
    if (running)
      throw new HttpError(409, 'BENCHMARK_BUSY', `benchmark ${running.id} is still running; one at a time`);
    // A prefix holding someone's keys is refused before the run is accepted (the run checks again).
    if (options.prefix !== undefined) {
      try {
        await checkPrefixEmpty(options);
      } catch (err) {
        if (err instanceof MonitorError && err.code === 'BENCH_PREFIX_NOT_EMPTY')
          throw new HttpError(409, err.code, err.message);
        throw new HttpError(503, 'ETCD_UNAVAILABLE', describeError(err));
      }
      // Another request may have started a run while this one waited for etcd.
      const busy = running as Running | undefined;
      if (busy)
        throw new HttpError(409, 'BENCHMARK_BUSY', `benchmark ${busy.id} is still running; one at a time`);
    }
    const run: Running = {
      id: randomUUID(),
      startedAt: new Date().toISOString(),
      request: req.body as Record<string, unknown>,
      completed: 0,
    };
    running = run;
    deps.log.info({ id: run.id, type: options.workload, ops: options.ops }, 'benchmark started via API');
    // The run belongs to the exporter, not to the request: it goes on (and cleans up) when the client
    // goes away, and the exporter's shutdown interrupts it and waits for its keys to be deleted.
    const controller = new AbortController();
    const done = runBenchmark({
      ...options,
      runId: run.id,
      signal: controller.signal,
      onProgress: (n) => (run.completed = n),
    })
      .then(
        (result): StoredRun => ({ id: run.id, status: 'completed', request: run.request, result }),
        (err: unknown): StoredRun => ({
          id: run.id,
          status: 'failed',
          request: run.request,
          error: {
            code: err instanceof MonitorError ? err.code : 'BENCHMARK_FAILED',
            message: describeError(err),
          },
        }),
      )
      .then(async (stored) => {
        recent.set(stored.id, stored);
        if (recent.size > 100) recent.delete(recent.keys().next().value as string);
        try {
          await store.append(stored);
        } catch (err) {
          deps.log.error({ err: describeError(err), file: store.file }, 'could not persist benchmark result');
        }
      })
      .finally(() => {
        running = undefined;
      });
    trackRun(controller, done);
    res
      .status(202)
      .location(`/api/v1/performance/benchmark/${run.id}`)
      .json({ id: run.id, status: 'running', startedAt: run.startedAt });
  });

  router.get('/performance/benchmark', async (_req, res) => {
    const runs = await store.all();
    // The cluster each run went to (a request without one ran against the first configured cluster), so the
    // status page can show each cluster its own last result.
    const clusterOf = new Map(
      runs.map((r) => {
        const asked = (r.request as { cluster?: unknown } | undefined)?.cluster;
        return [r.id, typeof asked === 'string' ? asked : (deps.config.clusters[0]?.name ?? null)];
      }),
    );
    res.json({
      running: running ? { id: running.id, startedAt: running.startedAt } : null,
      comparison: compareRuns(runs).map((c) => ({ ...c, cluster: clusterOf.get(c.id) ?? null })),
    });
  });

  router.get('/performance/benchmark/:id', async (req, res) => {
    const id = req.params['id'] ?? '';
    if (running?.id === id) {
      res.json({ id, status: 'running', startedAt: running.startedAt, completedCalls: running.completed });
      return;
    }
    const found = recent.get(id) ?? (await store.get(id));
    if (!found) throw new HttpError(404, 'UNKNOWN_BENCHMARK', `no benchmark with id ${id}`);
    res.json(found);
  });

  return router;
}
