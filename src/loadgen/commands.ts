import { randomUUID } from 'node:crypto';
import type { Argv, CommandModule } from 'yargs';
import {
  BENCH_FIELDS,
  CONNECTION_FIELDS,
  givenFlags,
  parseFlagDuration,
  withConfigFlags,
} from '../config/flags.js';
import { ConfigError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { formatDiskCheck, runDiskCheck } from './disk-check.js';
import { WORKLOADS, type Workload } from './load.js';
import { benchOptionsFromFlags, configFromFlags, parseWorkload, type BenchFlags } from './options.js';
import { formatReadiness, runReadinessCheck } from './readiness.js';
import { formatResult } from './report.js';
import { startProgress } from './progress.js';
import type { BenchmarkResult } from './result.js';
import { SIGNAL_EXIT, withSignals } from './signals.js';
import { defaultBenchPrefix, runPrefix } from './prefix.js';
import { runBenchmark } from './run.js';
import type { BenchOptions } from './spec.js';
import { startSidecar } from './sidecar.js';
import { benchFromFlags, withDistributedFlags } from './distributed-command.js';
import { BenchmarkStore } from './store.js';

// Subcommands `bench`, `disk-check` and `check`, plus `--run-benchmark`: one benchmark run as flags of
// the default command (see runBenchmarkFlag).

function withBenchFlags<T>(y: Argv<T>) {
  const g = 'Benchmark:';
  return y
    .option('type', {
      type: 'string',
      describe: `Workload: ${WORKLOADS.join(' | ')} (--serve: comma-separated list)`,
      group: g,
    })
    .option('ops', { type: 'number', describe: 'Total calls (default 10000 unless --duration)', group: g })
    .option('duration', {
      type: 'string',
      describe: 'Run for this long (e.g. 30s) instead of a call count',
      group: g,
    })
    .option('clients', {
      type: 'number',
      describe: 'Concurrent clients (calls in flight) [default: 64]',
      group: g,
    })
    .option('conns', {
      type: 'number',
      describe: 'HTTP/2 connections the clients share, round-robin over endpoints [default: 8]',
      group: g,
    })
    .option('key-size', {
      type: 'number',
      describe: 'Key size in bytes (after --prefix) [default: 8]',
      group: g,
    })
    .option('val-size', { type: 'number', describe: 'Value size in bytes [default: 256]', group: g })
    .option('key-space', {
      type: 'number',
      describe: 'Distinct keys (reads: populated first) [default: 10000]',
      group: g,
    })
    .option('sequential-keys', {
      type: 'boolean',
      describe: 'Writes use keys 0,1,2,... instead of random keys',
      group: g,
    })
    .option('consistency', {
      type: 'string',
      describe: 'Reads: l (linearizable) or s (serializable) [default: l]',
      group: g,
    })
    .option('rate', {
      type: 'number',
      describe: 'Open loop at this many calls/s; latency measured from the intended start',
      group: g,
    })
    .option('prefix', {
      type: 'string',
      describe:
        'Write only under this prefix, which must be empty (a non-empty one is refused); its keys are deleted afterwards [default: /etcd-monitor/bench/<run-id>/]',
      group: g,
    })
    .option('compact', {
      type: 'boolean',
      describe: COMPACT_HELP,
      group: g,
    })
    .option('client', {
      type: 'string',
      describe: 'Client path: lean (hand-framed HTTP/2) or etcd3 [default: lean]',
      group: g,
    })
    .option('workers', {
      type: 'number',
      describe: 'Threads running the load, each owning conns/workers connections [default: 1]',
      group: g,
    })
    .option('read-ratio', {
      type: 'number',
      describe: 'Share of reads in the mixed workload [default: 0.7]',
      group: g,
    })
    .option('profile', {
      type: 'string',
      describe: 'etcdctl check perf load: s | m | l | xl (its loads and pass criteria)',
      group: g,
    })
    .option('verdict', {
      type: 'string',
      describe:
        "Pass rules: check-perf (etcdctl check perf's: no errors, throughput > 90 % of the --profile or --rate limit, slowest <= 0.5 s, stddev <= 0.1 s) or design-targets (--slo-* targets) [default: check-perf; design-targets when an --slo-* flag is given]",
      group: g,
    })
    .option('slo-read-ops', {
      type: 'number',
      describe: 'design-targets: reads per second [default: 40000]',
      group: g,
    })
    .option('slo-write-ops', {
      type: 'number',
      describe: 'design-targets: writes per second [default: 20000]',
      group: g,
    })
    .option('slo-p99-ms', {
      type: 'number',
      describe: 'design-targets: P99 latency in ms [default: 100]',
      group: g,
    })
    .option('fail-on-slo', {
      type: 'boolean',
      describe: 'Exit 1 when the verdict is FAIL (always so with --profile)',
      group: g,
    })
    .option('output', { type: 'string', choices: ['text', 'json'], default: 'text', group: g })
    .option('save', {
      type: 'boolean',
      describe: 'Append the result to <data-dir>/benchmark-results.jsonl',
      group: g,
    })
    .option('serve', {
      type: 'boolean',
      describe: 'Sidecar: run on --schedule and expose results on its own /metrics',
      group: 'Sidecar:',
    })
    .option('schedule', {
      type: 'string',
      default: '1h',
      describe: 'Sidecar: time between rounds',
      group: 'Sidecar:',
    })
    .option('listen', {
      type: 'string',
      default: '0.0.0.0:9101',
      describe: 'Sidecar: host:port of /metrics',
      group: 'Sidecar:',
    })
    .option('disk-dir', {
      type: 'string',
      describe: 'Sidecar: also run the disk check in this directory each round',
      group: 'Sidecar:',
    });
}

/** Help of --compact: what compaction costs everyone else (the issue's users lost their keys' history). */
export const COMPACT_HELP =
  "After deleting the run's keys, compact the cluster at that revision. Compaction is cluster-wide: it removes every key's history, not only the benchmark's (etcdctl get --rev=<older> then fails with \"required revision has been compacted\"). Off unless given";

function parseListen(raw: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(raw);
  if (!m) throw new ConfigError('listen', `expected host:port, got ${raw}`);
  return { host: m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(m[2]) };
}

/** Runs one benchmark from parsed flags and prints it; exit status 1 on a failed verdict when asked. */
async function benchOnce(o: BenchOptions, argv: Record<string, unknown>): Promise<void> {
  // --save into a data dir that cannot be written fails before the run, not after it (one line: src/cli.ts).
  const store = argv['save']
    ? new BenchmarkStore(configFromFlags(givenFlags(argv), process.env).dataDir)
    : undefined;
  await store?.prepare();
  const runId = o.runId ?? randomUUID();
  // On a TTY only (progress.ts); the load's own 500 ms timer updates the counters, never the hot loop.
  const progress = startProgress(process.stderr, {
    phase: o.profile ? `check perf --load=${o.profile}` : o.workload,
    unit: 'ops',
    done: 0,
    ...(o.ops !== undefined ? { expected: o.ops } : {}),
    ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
  });
  let done: Awaited<ReturnType<typeof withSignals<BenchmarkResult>>>;
  try {
    done = await withSignals(runPrefix(o, runId), (signal) => {
      // A signal's messages (signals.ts) are not overdrawn by the line while the run cleans up.
      signal.addEventListener('abort', () => progress?.stop(), { once: true });
      return runBenchmark({
        ...o,
        runId,
        signal,
        onProgress: progress
          ? (n, _expected, ms) => {
              progress.counters.done = n;
              progress.counters.phaseElapsedMs = ms;
            }
          : undefined,
      });
    });
  } finally {
    progress?.stop();
  }
  if (done.signal) {
    process.exitCode = SIGNAL_EXIT[done.signal];
    return;
  }
  const result = done.value!;
  process.stdout.write(
    argv['output'] === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result),
  );
  await store?.append({ id: randomUUID(), status: 'completed', result });
  if (!result.slo.passed && (o.profile || argv['fail-on-slo'])) process.exitCode = 1;
}

/** `etcd-monitor bench`: one run, or with --serve the scheduled sidecar. */
export const benchCommand: CommandModule = {
  command: 'bench',
  describe:
    'Benchmark the cluster (write | read | mixed), judge the SLO; --serve publishes scheduled runs as metrics',
  builder: (y) => withDistributedFlags(withBenchFlags(withConfigFlags(y, BENCH_FIELDS))),
  handler: async (argv) => {
    const flags = givenFlags(argv as Record<string, unknown>);
    const config = configFromFlags(flags, process.env);
    if (!argv['serve']) {
      const a = argv as Record<string, unknown>;
      await benchFromFlags(benchOptionsFromFlags(flags as BenchFlags, config), a, (o) => benchOnce(o, a));
      return;
    }
    // A sidecar is one process with its own /metrics: several machines add up with sum by (le).
    for (const f of ['processes', 'process-index', 'run-id', 'latency-file'])
      if (flags[f] !== undefined) throw new ConfigError(f, 'is for one-off runs, not --serve');
    const types = String(flags['type'] ?? 'write,read,mixed')
      .split(',')
      .map((t) => t.trim());
    const workloads: Workload[] = types.map(parseWorkload);
    // Each scheduled run writes under its own /etcd-monitor/bench/<run-id>/ unless --prefix is given.
    const bench = benchOptionsFromFlags({ ...(flags as BenchFlags), type: workloads[0] }, config);
    const log = createLogger(config.log.level, config.log.format);
    const store = new BenchmarkStore(config.dataDir);
    const sidecar = await startSidecar({
      bench,
      workloads,
      scheduleMs: parseFlagDuration(String(argv['schedule']), 'schedule'),
      ...parseListen(String(argv['listen'])),
      diskDir: flags['disk-dir'] as string | undefined,
      log,
      onResult: (result) =>
        void store.append({ id: randomUUID(), status: 'completed', result }).catch(() => undefined),
    });
    await new Promise<void>((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
    });
    await sidecar.close();
  },
};

/** `etcd-monitor disk-check --dir PATH`: etcd's fio fdatasync recipe. */
export const diskCheckCommand: CommandModule = {
  command: 'disk-check',
  describe:
    "Measure fdatasync latency the way etcd's fio recipe does (2300-byte writes, 22 MiB); PASS if P99 < 10 ms",
  builder: (y) =>
    y
      .option('dir', {
        type: 'string',
        demandOption: true,
        describe: 'Directory on the disk etcd uses (its data dir)',
      })
      .option('size-mb', { type: 'number', default: 22, describe: 'Total bytes written, MiB' })
      .option('block-size', { type: 'number', default: 2300, describe: 'Bytes per write' })
      .option('output', { type: 'string', choices: ['text', 'json', 'prometheus'], default: 'text' }),
  handler: async (argv) => {
    // The loop is synchronous, so it draws the line itself through onProgress (every 250 ms at most).
    const progress = startProgress(process.stderr, { phase: 'fdatasync', unit: 'syncs', done: 0 });
    let r;
    try {
      r = runDiskCheck({
        dir: String(argv['dir']),
        totalBytes: Math.round(Number(argv['size-mb']) * 1024 * 1024),
        blockSize: Number(argv['block-size']),
        ...(progress
          ? {
              onProgress: (syncs: number, expected: number, ms: number) => {
                Object.assign(progress.counters, { done: syncs, expected, phaseElapsedMs: ms });
                progress.draw();
              },
            }
          : {}),
      });
    } finally {
      progress?.stop();
    }
    if (argv['output'] === 'json') process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else if (argv['output'] === 'prometheus') {
      const { BenchmarkMetrics } = await import('./metrics.js');
      const m = new BenchmarkMetrics();
      m.recordDisk(r);
      // Only the disk series: this output is meant for a node_exporter textfile collector.
      const text = await m.registry.metrics();
      process.stdout.write(
        text
          .split('\n\n')
          .filter((block) => block.includes('_disk_'))
          .join('\n\n') + '\n',
      );
    } else process.stdout.write(formatDiskCheck(r));
    if (!r.passed) process.exitCode = 1;
  },
};

/** `etcd-monitor check`: production-readiness report. */
export const checkCommand: CommandModule = {
  command: 'check',
  describe:
    'Production-readiness report (read-only): every member from the member list, alarms, disk check and configuration hints; --with-benchmark adds a short write benchmark',
  builder: (y) =>
    withConfigFlags(y, CONNECTION_FIELDS)
      .option('disk-dir', {
        type: 'string',
        describe: "Run the disk check here (a directory on etcd's disk, on the etcd host)",
      })
      .option('with-benchmark', {
        type: 'boolean',
        default: false,
        describe:
          'Also run a short write benchmark (writes under /etcd-monitor/bench/<run-id>/, deleted afterwards; never compacts). Without it check only reads',
      })
      .option('bench-ops', {
        type: 'number',
        default: 2000,
        describe: 'Calls of the --with-benchmark write benchmark',
      })
      .option('output', { type: 'string', choices: ['text', 'json'], default: 'text' }),
  handler: async (argv) => {
    const config = configFromFlags(givenFlags(argv as Record<string, unknown>), process.env);
    const runId = randomUUID();
    const progress = startProgress(process.stderr, { phase: 'members', unit: 'members', done: 0 });
    const check = (signal?: AbortSignal) => {
      signal?.addEventListener('abort', () => progress?.stop(), { once: true });
      return runReadinessCheck({
        config,
        ...(progress ? { progress } : {}),
        diskDir: argv['disk-dir'] as string | undefined,
        benchOps: argv['with-benchmark'] ? Number(argv['bench-ops']) : 0,
        runId,
        ...(signal ? { signal } : {}),
      });
    };
    // Read-only without --with-benchmark: a signal may end it the default way.
    let done;
    try {
      done = argv['with-benchmark']
        ? await withSignals(defaultBenchPrefix(runId), check)
        : { value: await check() };
    } finally {
      progress?.stop();
    }
    if (done.signal) {
      process.exitCode = SIGNAL_EXIT[done.signal];
      return;
    }
    const report = done.value!;
    process.stdout.write(
      argv['output'] === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReadiness(report),
    );
    if (!report.ready) process.exitCode = 1;
  },
};

/** Flags of `--run-benchmark` (one run with the default conditions), added to the default `serve` command. */
export function withRunBenchmarkFlags<T>(y: Argv<T>) {
  return y
    .option('run-benchmark', {
      type: 'boolean',
      describe: 'Run one benchmark with the default conditions and exit (every option: see `bench`)',
      group: 'Benchmark:',
    })
    .option('benchmark-type', {
      type: 'string',
      describe: 'write | read | mixed [default: write]',
      group: 'Benchmark:',
    })
    .option('benchmark-ops', {
      type: 'number',
      describe: 'Total calls [default: 10000]',
      group: 'Benchmark:',
    })
    .option('output', {
      type: 'string',
      choices: ['text', 'json'],
      describe: 'Benchmark output format [default: text]',
      group: 'Benchmark:',
    });
}

/**
 * `etcd-monitor --run-benchmark --benchmark-type=mixed --benchmark-ops=10000 --endpoints=...`: one run with
 * the default conditions (BENCH_DEFAULTS), printing "=== Benchmark Results ===" or JSON.
 */
export async function runBenchmarkFlag(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const config = configFromFlags(flags, env);
  const o = benchOptionsFromFlags(
    {
      type: (flags['benchmark-type'] as string | undefined) ?? 'write',
      ops: flags['benchmark-ops'] as number | undefined,
    },
    config,
  );
  await benchOnce(o, { output: flags['output'] ?? 'text' });
}
