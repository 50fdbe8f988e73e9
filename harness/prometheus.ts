// A real Prometheus as a child process on a free loopback port, with a temp TSDB and config: used by the
// live tests (through test/support/prometheus.ts) and by the scale benchmark (perf/scale.ts).
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { fetch } from 'undici';
import { freePort } from './free-port.js';
import { onProcessExit, spawnTracked, terminate, waitFor, type TrackedProcess } from './processes.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? 'prometheus';

export interface PrometheusOptions {
  /** host:port targets of the one scrape job. */
  scrapeTargets: string[];
  jobName?: string;
  /**
   * `honor_labels` of the scrape job; true unless said otherwise, as the shipped prometheus.yml and README
   * tell users: relayed member series keep their own `instance` (the member's host:port).
   */
  honorLabels?: boolean;
  /** Scrape and rule evaluation interval, e.g. "1s". */
  interval?: string;
  /** Scrape timeout (at most the interval); the interval unless given. */
  scrapeTimeout?: string;
  /** Rule files by name (written into the temp dir). */
  ruleFiles?: Record<string, string>;
  /** Alertmanager base URLs (http://host:port). */
  alertmanagers?: string[];
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** A running Prometheus on a free loopback port. */
export interface RunningPrometheus {
  readonly url: string;
  readonly dir: string;
  /** Process id, for /proc readings (CPU, RSS) by benchmarks. */
  readonly pid: number;
  logs(): string;
  /** Instant query; returns the result vector. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Pending and firing alerts (GET /api/v1/alerts). */
  alerts(): Promise<PromAlert[]>;
  /** Health of every scrape target (GET /api/v1/targets). */
  targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>>;
  stop(): Promise<void>;
}

const liveDirs = new Set<string>();
onProcessExit(() => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

/** Renders a minimal prometheus.yml: one scrape job, the rule files, and the Alertmanagers to notify. */
export function renderPrometheusConfig(opts: PrometheusOptions, ruleFilePaths: string[]): string {
  const interval = opts.interval ?? '1s';
  const config = {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      scrape_timeout: opts.scrapeTimeout ?? interval,
    },
    rule_files: ruleFilePaths,
    scrape_configs: [
      {
        job_name: opts.jobName ?? 'etcd-monitor',
        honor_labels: opts.honorLabels ?? true,
        static_configs: [{ targets: opts.scrapeTargets }],
      },
    ],
    ...(opts.alertmanagers?.length
      ? {
          alerting: {
            alertmanagers: [
              { static_configs: [{ targets: opts.alertmanagers.map((u) => new URL(u).host) }] },
            ],
          },
        }
      : {}),
  };
  return yaml.dump(config, { lineWidth: -1 });
}

/**
 * Starts Prometheus with a temp TSDB and config and waits for /-/ready. Firing alerts are re-sent to
 * Alertmanager every second (default one minute) so tests see state changes quickly.
 */
export async function startPrometheus(opts: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prom-test-'));
  liveDirs.add(dir);
  const ruleFilePaths: string[] = [];
  for (const [name, text] of Object.entries(opts.ruleFiles ?? {})) {
    const file = path.join(dir, name);
    await writeFile(file, text);
    ruleFilePaths.push(file);
  }
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, renderPrometheusConfig(opts, ruleFilePaths));
  await mkdir(path.join(dir, 'data'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc: TrackedProcess = spawnTracked(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      '--rules.alert.resend-delay=1s',
      '--log.level=info',
    ],
    { label: 'prometheus' },
  );
  const cleanup = async (): Promise<void> => {
    await terminate(proc, 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`exited ${JSON.stringify(proc.exitInfo)}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `prometheus on ${url} to be ready` },
    );
  } catch (err) {
    await cleanup();
    throw new Error(`${(err as Error).message}\n--- prometheus output ---\n${proc.output()}`);
  }
  return {
    url,
    dir,
    pid: proc.pid,
    logs: () => proc.output(),
    query: (expr) =>
      getJson<{ result: [] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`).then((d) => d.result),
    alerts: () => getJson<{ alerts: PromAlert[] }>(`${url}/api/v1/alerts`).then((d) => d.alerts),
    targets: () =>
      getJson<{ activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> }>(
        `${url}/api/v1/targets`,
      ).then((d) => d.activeTargets),
    stop: cleanup,
  };
}
