import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { fetch } from 'undici';
import { freePort } from '../../harness/free-port.js';
import {
  onProcessExit,
  spawnTracked,
  terminate,
  waitFor,
  type TrackedProcess,
} from '../../harness/processes.js';
import { ROOT } from './dashboard-files.js';

interface ScrapeJob {
  job_name: string;
  static_configs: Array<{ targets: string[]; labels?: Record<string, string> }>;
  [key: string]: unknown;
}

/**
 * The shipped prometheus/prometheus.yml with the compose service addresses replaced by local ones, a
 * 2 s scrape interval, and the rule globs pointed at the repository's alert-rules/. Jobs whose target is
 * not given (Prometheus and Alertmanager self-scrapes) and the Alertmanager section are dropped.
 */
export function localPrometheusConfig(targets: Record<string, string>, clusterLabel: string): string {
  const shipped = yaml.load(readFileSync(path.join(ROOT, 'prometheus/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: ScrapeJob[];
  };
  const jobs = shipped.scrape_configs
    .map((job) => ({
      ...job,
      static_configs: job.static_configs.map((c) => ({
        ...c,
        targets: c.targets.map((t) => targets[t]).filter((t): t is string => t !== undefined),
        ...(c.labels?.cluster ? { labels: { ...c.labels, cluster: clusterLabel } } : {}),
      })),
    }))
    .filter((job) => job.static_configs.some((c) => c.targets.length > 0));
  const config = {
    // 2 s rather than 1 s: a loaded 2-core machine can take over a second to render ~300 KB of /metrics.
    global: { scrape_interval: '2s', evaluation_interval: '2s', scrape_timeout: '2s' },
    rule_files: shipped.rule_files.map((g) => path.join(ROOT, 'alert-rules', path.basename(g))),
    scrape_configs: jobs,
  };
  return yaml.dump(config, { lineWidth: -1 });
}

export interface QueryResult {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RangeResult {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export interface LocalPrometheus {
  readonly url: string;
  readonly config: string;
  logs(): string;
  /** Instant query; rejects with Prometheus' error message when the query is invalid. */
  query(expr: string): Promise<QueryResult[]>;
  /** Range query from `start` to now (Unix seconds), as Grafana runs time series and stat panels. */
  queryRange(expr: string, start: number, stepSeconds: number): Promise<RangeResult[]>;
  stop(): Promise<void>;
}

const liveDirs = new Set<string>();
onProcessExit(() => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

async function api<T>(url: string, endpoint: string, params: Record<string, string>): Promise<T> {
  const res = await fetch(`${url}/api/v1/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { status: string; data?: { result: T }; error?: string };
  if (body.status !== 'success' || !body.data) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body.data.result;
}

/** Starts the real `prometheus` binary on a free loopback port with the given configuration text. */
export async function startLocalPrometheus(config: string): Promise<LocalPrometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dash-prom-'));
  liveDirs.add(dir);
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc: TrackedProcess = spawnTracked(
    process.env.PROMETHEUS_BIN ?? 'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { label: 'prometheus' },
  );
  const stop = async () => {
    await terminate(proc, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`exited ${JSON.stringify(proc.exitInfo)}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `prometheus on ${url}` },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return {
    url,
    config,
    logs: () => proc.output(),
    query: (expr) => api<QueryResult[]>(url, 'query', { query: expr }),
    queryRange: (expr, start, step) =>
      api<RangeResult[]>(url, 'query_range', {
        query: expr,
        start: String(start),
        end: String(Date.now() / 1000),
        step: String(step),
      }),
    stop,
  };
}

export interface BenchSidecar {
  readonly url: string;
  readonly target: string;
  metricsText(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts `etcd-monitor bench --serve` (real CLI through tsx) on `port`: short rounds of the three
 * workloads plus the disk check, 3 s apart.
 */
export async function startBenchSidecar(
  endpoints: string[],
  diskDir: string,
  port: number,
): Promise<BenchSidecar> {
  const proc = spawnTracked(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'src/cli.ts'),
      'bench',
      '--serve',
      `--endpoints=${endpoints.join(',')}`,
      '--type=write,read,mixed',
      '--ops=1500',
      '--clients=8',
      '--conns=2',
      '--key-space=500',
      '--schedule=3s',
      `--listen=127.0.0.1:${port}`,
      `--disk-dir=${diskDir}`,
      `--data-dir=${diskDir}`,
      '--log-level=warn',
    ],
    { label: 'bench-sidecar', cwd: ROOT },
  );
  const url = `http://127.0.0.1:${port}`;
  const handle: BenchSidecar = {
    url,
    target: `127.0.0.1:${port}`,
    async metricsText() {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
      return res.text();
    },
    stop: () => terminate(proc, 'SIGTERM', 10_000).then(() => undefined),
  };
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`exited early:\n${proc.output()}`);
        return (await fetch(`${url}/healthz`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'benchmark sidecar to listen' },
    );
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
