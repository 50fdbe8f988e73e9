import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from './processes.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Flags that make the exporter collect every second and give up on a member after one, for fault tests. */
export const FAST_INTERVALS: readonly string[] = [
  '--health-check-interval',
  '1s',
  '--metrics-interval',
  '1s',
  '--request-timeout',
  '1s',
  '--dial-timeout',
  '1s',
];

/** A running exporter child process (the real CLI, run from source through tsx). */
export interface ExporterProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly proc: TrackedProcess;
  /** GET a path and parse JSON. */
  json<T = unknown>(path: string): Promise<{ status: number; body: T }>;
  /** GET /metrics as text. */
  metricsText(): Promise<string>;
  /** Value of one sample in /metrics, matched by name and label subset; undefined if absent. */
  sample(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  stop(): Promise<void>;
}

export interface ExporterOptions {
  /** Extra CLI flags, e.g. ['--endpoints', 'http://...', '--health-check-interval', '1s']. */
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Wait for /ready (default true). */
  readonly waitReady?: boolean;
  /** Listen on this port (e.g. a restarted exporter that Prometheus keeps scraping); a free one by default. */
  readonly port?: number;
  /** Node flags before the script, e.g. SHIPPED_NODE_FLAGS to measure memory as bin/etcd-monitor.js runs. */
  readonly nodeArgs?: readonly string[];
}

/** The node flags of bin/etcd-monitor.js's shebang (the GC settings the shipped exporter runs with). */
export const SHIPPED_NODE_FLAGS: readonly string[] = (
  readFileSync(join(ROOT, 'bin/etcd-monitor.js'), 'utf8').split('\n')[0] ?? ''
)
  .split(/\s+/)
  .filter((arg) => arg.startsWith('--'));

/** Starts `etcd-monitor serve` on a free loopback port with a temp data dir; stop() cleans both up. */
export async function startExporter(options: ExporterOptions): Promise<ExporterProcess> {
  const port = options.port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'etcd-monitor-exporter-'));
  const hasDataDir = options.args.includes('--data-dir');
  const args = [
    ...(options.nodeArgs ?? []),
    '--import',
    'tsx',
    join(ROOT, 'src/cli.ts'),
    '--api-host',
    '127.0.0.1',
    '--api-port',
    String(port),
    '--log-level',
    'debug',
    ...(hasDataDir ? [] : ['--data-dir', dataDir]),
    ...options.args,
  ];
  const proc = spawnTracked(process.execPath, args, {
    label: 'etcd-monitor',
    cwd: ROOT,
    env: { ...process.env, ...options.env },
  });
  const url = `http://127.0.0.1:${port}`;
  const handle: ExporterProcess = {
    url,
    port,
    dataDir,
    proc,
    async json<T>(path: string) {
      const res = await fetch(url + path, { signal: AbortSignal.timeout(10_000) });
      return { status: res.status, body: (await res.json()) as T };
    },
    async metricsText() {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
      return res.text();
    },
    async sample(name, labels = {}) {
      return findSample(await handle.metricsText(), name, labels);
    },
    async stop() {
      await terminate(proc, 'SIGTERM', 8000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`exporter exited early:\n${proc.output()}`);
        const res = await fetch(`${url}/${options.waitReady === false ? 'health' : 'ready'}`).catch(
          () => undefined,
        );
        return res?.status === 200;
      },
      { what: 'exporter to become ready', timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    await handle.stop();
    throw new Error(`${(err as Error).message}\n--- exporter output ---\n${proc.output()}`);
  }
  return handle;
}

/** Finds a sample in exposition text whose labels include `labels`. */
export function findSample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const labelText = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    const ok = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (ok) return Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return undefined;
}
