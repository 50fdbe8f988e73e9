import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { SHIPPED_NODE_FLAGS } from '../harness/exporter.js';
import { freePort } from '../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../harness/processes.js';
import { compileExporter } from './exporter-load.js';
import type { MemberSource } from './scale-members.js';

const REPO = path.resolve(import.meta.dirname, '..');
/** Inside the repo so the compiled files resolve node_modules; .tmp/ is git-ignored. Ours alone. */
const COMPILED_DIR = path.join(REPO, '.tmp', 'scale-exporter-dist');

/** The compiled exporter in a directory of the scale benchmark's own (exporter-load.ts' compileExporter). */
export function compileScaleExporter(): string {
  return compileExporter(COMPILED_DIR);
}

/** A running exporter child and the rounds it has logged. */
export interface ScaleExporter {
  readonly base: string;
  readonly proc: TrackedProcess;
  readonly clusters: number;
  /** Metrics rounds completed so far, summed over clusters ('collection round done', kind metrics). */
  metricsRounds(): number;
  /** Rounds skipped because the cluster's previous one was still running. */
  skippedRounds(): number;
  stop(): Promise<void>;
}

/** The YAML config listing every cluster; intervals stay at their defaults. */
export function renderConfig(source: MemberSource): string {
  const lines = ['clusters:'];
  for (const c of source.clusters) {
    lines.push(`  - name: ${c.name}`, '    endpoints:');
    for (const endpoint of c.endpoints) lines.push(`      - ${endpoint}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Starts the compiled exporter (`node <bin/etcd-monitor.js's flags> <compiled>/cli.js`) watching every
 * cluster of `source` with default intervals, and waits for /ready (its first health and metrics round of
 * every cluster). Log level debug: the only debug lines are one per round per cluster and one per HTTP
 * request, which is how rounds are counted (≈40 lines a second at 1,000 members).
 */
export async function startScaleExporter(opts: {
  cli: string;
  source: MemberSource;
  reexpose: boolean;
  label: string;
  extraNodeFlags?: readonly string[];
}): Promise<ScaleExporter> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `scale-${opts.label}-`));
  const configFile = path.join(dir, 'exporter.yaml');
  await writeFile(configFile, renderConfig(opts.source));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawnTracked(
    process.execPath,
    [
      ...SHIPPED_NODE_FLAGS,
      ...(opts.extraNodeFlags ?? []),
      opts.cli,
      '--config',
      configFile,
      `--reexpose=${opts.reexpose}`,
      '--api-host',
      '127.0.0.1',
      '--api-port',
      String(port),
      '--data-dir',
      path.join(dir, 'data'),
      '--log-level',
      'debug',
      '--log-format',
      'json',
    ],
    { cwd: REPO, label: `exporter-${opts.label}` },
  );
  let rounds = 0;
  let skipped = 0;
  let partial = '';
  // The log goes to stderr.
  proc.child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('metrics')) continue;
      if (line.includes('collection round done')) rounds++;
      else if (line.includes('previous round still running')) skipped++;
    }
  });
  const stop = async () => {
    await terminate(proc, 'SIGTERM', 20_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`exporter exited:\n${proc.output()}`);
        const res = await request(`${base}/ready`);
        await res.body.dump();
        return res.statusCode === 200;
      },
      { timeoutMs: 300_000, intervalMs: 500, what: `exporter ${opts.label} to be ready` },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- exporter output ---\n${proc.output()}`);
  }
  return {
    base,
    proc,
    clusters: opts.source.clusters.length,
    metricsRounds: () => rounds,
    skippedRounds: () => skipped,
    stop,
  };
}

/** One GET /metrics: body bytes as served (plain or gzip) and the wall time. */
export async function scrapeOnce(
  base: string,
  gzip: boolean,
): Promise<{ bytes: number; ms: number; text?: string }> {
  const t0 = performance.now();
  const res = await request(`${base}/metrics`, {
    headers: gzip ? { 'accept-encoding': 'gzip' } : {},
    headersTimeout: 180_000,
    bodyTimeout: 180_000,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200) throw new Error(`${base}/metrics answered ${res.statusCode}`);
  return { bytes: body.length, ms: performance.now() - t0, ...(gzip ? {} : { text: body.toString('utf8') }) };
}

/** Scrapes `base` every `intervalMs` with gzip (as Prometheus asks) until `until` (performance.now()). */
export async function scrapeEvery(base: string, intervalMs: number, until: number): Promise<void> {
  while (performance.now() + intervalMs < until) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    await scrapeOnce(base, true);
  }
}
