/**
 * Performance harness (not a test): `etcd-monitor bench` against the Go reference loader built from
 * Debian's etcd v3.4 client, same local 3-member cluster, same parameters, interleaved A B A B ...
 *
 *   node --import tsx perf/bench-vs-reference.ts [--rounds 5] [--loader /tmp/reference-loader]
 *   node --import tsx perf/bench-vs-reference.ts --baseline-tree /tmp/before [--no-reference]
 *
 * `--baseline-tree DIR` also runs `etcd-monitor bench` from another checkout (e.g. `git archive <commit>`
 * with node_modules linked) each round, alternating which of the two goes first, for a before/after of
 * our own client in one run; `--no-reference` skips the Go loader (no Go toolchain needed).
 *
 * Writes perf/results/bench-vs-reference.json and .md. Client CPU per operation: ours from the run's
 * own process.cpuUsage() over the load phase; the loader's from /usr/bin/time minus a `-total 1` run of
 * the same op (process start, connections and key-space population), so both count the load phase only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster } from '../harness/etcd-cluster.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const ROUNDS = Number(arg('rounds', '5'));
const LOADER = arg('loader', '/tmp/reference-loader');
/** Also run `--client etcd3` each round (A B C ...), to show what the lean path buys. */
const WITH_ETCD3 = process.argv.includes('--etcd3');
/** Comma-separated subset of scenarios (write, read-l, read-s, mixed); results go to a suffixed file. */
const ONLY = arg('only', '');
/** Extra flags for every `etcd-monitor bench` run, e.g. `--ours-args "--workers 2"`. */
const OURS_ARGS = arg('ours-args', '').split(' ').filter(Boolean);
/** Another checkout whose `src/cli.ts bench` runs as the "before" side each round. */
const BASELINE = arg('baseline-tree', '');
const NO_REF = process.argv.includes('--no-reference');
const SUFFIX = [
  ONLY ? `-${ONLY.replace(/,/g, '-')}` : '',
  WITH_ETCD3 ? '-etcd3' : '',
  OURS_ARGS.length ? `-${OURS_ARGS.join('').replace(/[^a-z0-9]+/gi, '')}` : '',
  BASELINE ? '-vs-baseline' : '',
  NO_REF ? '-noref' : '',
].join('');
const CLIENTS = 64;
const CONNS = 8;
const KEY_SIZE = 8;
const VAL_SIZE = 256;
const KEY_SPACE = 10_000;

interface Scenario {
  name: string;
  ops: number;
  ours: string[];
  ref: string[];
}
const SCENARIOS: Scenario[] = [
  {
    name: 'write',
    ops: 20_000,
    ours: ['--type', 'write', '--sequential-keys', '--key-space', '20000'],
    ref: ['-op', 'put'],
  },
  {
    name: 'read-l',
    ops: 40_000,
    ours: ['--type', 'read', '--consistency', 'l'],
    ref: ['-op', 'range', '-consistency', 'l'],
  },
  {
    name: 'read-s',
    ops: 40_000,
    ours: ['--type', 'read', '--consistency', 's'],
    ref: ['-op', 'range', '-consistency', 's'],
  },
  { name: 'mixed', ops: 30_000, ours: ['--type', 'mixed'], ref: ['-op', 'mixed'] },
];

interface Sample {
  opsPerSec: number;
  p99Ms: number;
  p50Ms: number;
  failed: number;
  cpuMicrosPerOp: number;
}

function run(cmd: string, args: string[], cwd = root): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve({ stdout, stderr })
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}

async function ours(
  endpoints: string[],
  s: Scenario,
  client: 'lean' | 'etcd3' = 'lean',
  cwd = root,
): Promise<Sample> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli.ts',
      'bench',
      ...s.ours,
      '--ops',
      String(s.ops),
      '--clients',
      String(CLIENTS),
      '--conns',
      String(CONNS),
      '--key-size',
      String(KEY_SIZE),
      '--val-size',
      String(VAL_SIZE),
      ...(s.ours.includes('--key-space') ? [] : ['--key-space', String(KEY_SPACE)]),
      '--endpoints',
      endpoints.join(','),
      '--output',
      'json',
      '--log-level',
      'warn',
      '--client',
      client,
      // A run writes only under a prefix (default /etcd-monitor/bench/<uuid>/, 57 bytes); the loader writes
      // bare keys, so a 3-byte prefix keeps the requests within 3 bytes of each other.
      '--prefix',
      '/b/',
      ...OURS_ARGS,
    ],
    cwd,
  );
  const r = JSON.parse(stdout) as {
    throughput: number;
    failed: number;
    latency: { p99Ms: number; p50Ms: number };
    clientCpu: { microsPerOp: number };
  };
  return {
    opsPerSec: r.throughput,
    p99Ms: r.latency.p99Ms,
    p50Ms: r.latency.p50Ms,
    failed: r.failed,
    cpuMicrosPerOp: r.clientCpu.microsPerOp,
  };
}

/** Runs the loader under /usr/bin/time; returns its JSON and CPU seconds (user+system). */
async function loader(
  endpoints: string[],
  s: Scenario,
  total: number,
): Promise<{ json: Record<string, number>; cpuSeconds: number }> {
  const hostPorts = endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(',');
  const { stdout, stderr } = await run('/usr/bin/time', [
    '-f',
    'CPU %U %S',
    LOADER,
    '-endpoints',
    hostPorts,
    ...s.ref,
    '-clients',
    String(CLIENTS),
    '-conns',
    String(CONNS),
    '-total',
    String(total),
    '-key-size',
    String(KEY_SIZE),
    '-val-size',
    String(VAL_SIZE),
    '-key-space',
    String(KEY_SPACE),
    '-json',
  ]);
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  return {
    json: JSON.parse(stdout) as Record<string, number>,
    cpuSeconds: m ? Number(m[1]) + Number(m[2]) : NaN,
  };
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  if (!NO_REF && !existsSync(LOADER))
    execFileSync(path.resolve(root, '../shared/reference-loader/build.sh'), [LOADER], { stdio: 'inherit' });
  const etcdVersion = execFileSync('etcd', ['--version']).toString().split('\n')[0] ?? '';
  const cluster = await startCluster({ size: 3 });
  const started = new Date();
  const load0 = os.loadavg();
  const results: Record<
    string,
    {
      ours: Sample[];
      ref: Sample[];
      etcd3: Sample[];
      baseline: Sample[];
      refBaselineCpuSeconds: number;
      loadAverage: number[];
    }
  > = {};
  try {
    for (const s of SCENARIOS.filter((x) => !ONLY || ONLY.split(',').includes(x.name))) {
      // CPU of process start + connections + population, subtracted from every loader run of this op.
      const base = NO_REF ? { cpuSeconds: NaN } : await loader(cluster.endpoints, s, 1);
      const entry = (results[s.name] = {
        ours: [] as Sample[],
        ref: [] as Sample[],
        etcd3: [] as Sample[],
        baseline: [] as Sample[],
        refBaselineCpuSeconds: base.cpuSeconds,
        loadAverage: [] as number[],
      });
      for (let r = 0; r < ROUNDS; r++) {
        entry.loadAverage.push(os.loadavg()[0]!);
        // With a baseline, alternate which side goes first so neither always runs on a warmer cluster.
        if (BASELINE && r % 2 === 0) entry.baseline.push(await ours(cluster.endpoints, s, 'lean', BASELINE));
        const a = await ours(cluster.endpoints, s);
        entry.ours.push(a);
        if (BASELINE && r % 2 === 1) entry.baseline.push(await ours(cluster.endpoints, s, 'lean', BASELINE));
        if (BASELINE) {
          const before = entry.baseline.at(-1)!;
          process.stderr.write(
            `${s.name} round ${r + 1}: before ${before.opsPerSec.toFixed(0)}/s ${before.cpuMicrosPerOp.toFixed(1)} µs CPU/op | ` +
              `after ${a.opsPerSec.toFixed(0)}/s ${a.cpuMicrosPerOp.toFixed(1)} µs CPU/op\n`,
          );
        }
        if (NO_REF) continue;
        const b = await loader(cluster.endpoints, s, s.ops);
        const ok = s.ops - b.json['failed']!;
        entry.ref.push({
          opsPerSec: b.json['ops_per_sec']!,
          p99Ms: b.json['p99_ms']!,
          p50Ms: b.json['p50_ms']!,
          failed: b.json['failed']!,
          cpuMicrosPerOp: (Math.max(0, b.cpuSeconds - base.cpuSeconds) * 1e6) / ok,
        });
        if (WITH_ETCD3) entry.etcd3.push(await ours(cluster.endpoints, s, 'etcd3'));
        process.stderr.write(
          `${s.name} round ${r + 1}: ours ${a.opsPerSec.toFixed(0)}/s p99 ${a.p99Ms.toFixed(1)} ms ${a.cpuMicrosPerOp.toFixed(1)} µs CPU/op | ` +
            `ref ${b.json['ops_per_sec']!.toFixed(0)}/s p99 ${b.json['p99_ms']!.toFixed(1)} ms ${entry.ref.at(-1)!.cpuMicrosPerOp.toFixed(1)} µs CPU/op\n`,
        );
      }
    }
  } finally {
    await cluster.destroy();
  }
  const summary = Object.entries(results).map(([name, r]) => {
    const m = (xs: Sample[], k: keyof Sample): number => median(xs.map((x) => x[k]));
    const row = {
      scenario: name,
      oursOpsPerSec: m(r.ours, 'opsPerSec'),
      refOpsPerSec: m(r.ref, 'opsPerSec'),
      oursP99Ms: m(r.ours, 'p99Ms'),
      refP99Ms: m(r.ref, 'p99Ms'),
      oursCpuMicrosPerOp: m(r.ours, 'cpuMicrosPerOp'),
      refCpuMicrosPerOp: m(r.ref, 'cpuMicrosPerOp'),
      etcd3OpsPerSec: r.etcd3.length ? m(r.etcd3, 'opsPerSec') : null,
      etcd3P99Ms: r.etcd3.length ? m(r.etcd3, 'p99Ms') : null,
      etcd3CpuMicrosPerOp: r.etcd3.length ? m(r.etcd3, 'cpuMicrosPerOp') : null,
      baselineOpsPerSec: r.baseline.length ? m(r.baseline, 'opsPerSec') : null,
      baselineP99Ms: r.baseline.length ? m(r.baseline, 'p99Ms') : null,
      baselineCpuMicrosPerOp: r.baseline.length ? m(r.baseline, 'cpuMicrosPerOp') : null,
      // Median of each round's after/before ratio: robust to load that drifts across the run.
      pairedOpsRatio: r.baseline.length
        ? median(r.ours.map((x, i) => x.opsPerSec / r.baseline[i]!.opsPerSec))
        : null,
      pairedCpuRatio: r.baseline.length
        ? median(r.ours.map((x, i) => x.cpuMicrosPerOp / r.baseline[i]!.cpuMicrosPerOp))
        : null,
      failed: [...r.ours, ...r.ref, ...r.baseline].reduce((t, x) => t + x.failed, 0),
    };
    const throughputRatio = row.oursOpsPerSec / row.refOpsPerSec;
    const p99Ratio = row.oursP99Ms / row.refP99Ms;
    return { ...row, throughputRatio, p99Ratio, passed: throughputRatio >= 1.0 && p99Ratio <= 1.1 };
  });
  const conditions = {
    clients: CLIENTS,
    conns: CONNS,
    keySize: KEY_SIZE,
    valSize: VAL_SIZE,
    keySpace: KEY_SPACE,
    rounds: ROUNDS,
    cluster: '3 members on loopback, one host',
    etcd: etcdVersion,
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    loadAverageAtStart: load0,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    oursClient: 'lean (hand-framed HTTP/2)',
    oursExtraArgs: OURS_ARGS,
    baselineTree: BASELINE || null,
    reference: 'Go clientv3 (Debian golang-etcd-server-dev, etcd v3.4)',
  };
  const outDir = path.join(here, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, `bench-vs-reference${SUFFIX}.json`),
    `${JSON.stringify({ conditions, summary, rounds: results }, null, 2)}\n`,
  );
  const md = [
    `# etcd-monitor bench vs reference loader`,
    '',
    `${conditions.cluster}, ${conditions.etcd}, ${conditions.cpus} × ${conditions.cpuModel}, Node ${conditions.node}; ` +
      `${CLIENTS} clients, ${CONNS} connections, ${KEY_SIZE}-byte keys, ${VAL_SIZE}-byte values, key space ${KEY_SPACE} (writes: sequential keys 0..N-1); ` +
      `${ROUNDS} interleaved rounds (A B A B ...), medians. Load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}. ${conditions.startedAt}.`,
    '',
    ...(NO_REF
      ? []
      : [
          '| workload | etcd-monitor ops/s | reference ops/s | ratio | etcd-monitor P99 | reference P99 | P99 ratio | CPU µs/op (ours / ref) | pass |',
          '|---|---:|---:|---:|---:|---:|---:|---:|---|',
          ...summary.map(
            (s) =>
              `| ${s.scenario} | ${s.oursOpsPerSec.toFixed(0)} | ${s.refOpsPerSec.toFixed(0)} | ${s.throughputRatio.toFixed(2)}× | ${s.oursP99Ms.toFixed(1)} ms | ${s.refP99Ms.toFixed(1)} ms | ${s.p99Ratio.toFixed(2)}× | ${s.oursCpuMicrosPerOp.toFixed(1)} / ${s.refCpuMicrosPerOp.toFixed(1)} | ${s.passed ? 'yes' : 'no'} |`,
          ),
          '',
        ]),
    ...(BASELINE
      ? [
          `Before/after (\`--baseline-tree ${BASELINE}\`, before = that checkout, after = this one; medians of ${ROUNDS} rounds, order alternated):`,
          '',
          '| workload | before ops/s | after ops/s | ratio (paired) | before P99 | after P99 | before CPU µs/op | after CPU µs/op | CPU ratio (paired) |',
          '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
          ...summary.map(
            (s) =>
              `| ${s.scenario} | ${s.baselineOpsPerSec?.toFixed(0)} | ${s.oursOpsPerSec.toFixed(0)} | ${(s.oursOpsPerSec / s.baselineOpsPerSec!).toFixed(3)}× (${s.pairedOpsRatio?.toFixed(3)}×) | ${s.baselineP99Ms?.toFixed(1)} ms | ${s.oursP99Ms.toFixed(1)} ms | ${s.baselineCpuMicrosPerOp?.toFixed(2)} | ${s.oursCpuMicrosPerOp.toFixed(2)} | ${(s.oursCpuMicrosPerOp / s.baselineCpuMicrosPerOp!).toFixed(3)}× (${s.pairedCpuRatio?.toFixed(3)}×) |`,
          ),
          '',
        ]
      : []),
    ...(WITH_ETCD3
      ? [
          '| workload | `--client etcd3` ops/s | P99 | CPU µs/op |',
          '|---|---:|---:|---:|',
          ...summary.map(
            (s) =>
              `| ${s.scenario} | ${s.etcd3OpsPerSec?.toFixed(0)} | ${s.etcd3P99Ms?.toFixed(1)} ms | ${s.etcd3CpuMicrosPerOp?.toFixed(1)} |`,
          ),
          '',
        ]
      : []),
    'Pass: throughput ratio ≥ 1.0 and P99 ratio ≤ 1.1. CPU per op counts the load phase only (see perf/README.md).',
    '',
  ].join('\n');
  writeFileSync(path.join(outDir, `bench-vs-reference${SUFFIX}.md`), md);
  process.stdout.write(md);
}

await main();
