import type { Argv } from 'yargs';
import { parseFlagDuration } from '../config/flags.js';
import { ConfigError, MonitorError } from '../util/errors.js';
import { BenchInterruptedError } from './prefix.js';
import type { DistributedResult, ProcessReport } from './distributed-merge.js';
import { runDistributed, type DistributedOptions } from './distributed.js';
import { formatCleanup, formatResult } from './report.js';
import { SIGNAL_EXIT, withSignals } from './signals.js';
import type { BenchOptions } from './spec.js';
import { validateDistributed } from './distributed-plan.js';
import { openLatencyFile } from './latency-file.js';

// `bench --processes N --process-index i --run-id ID` (distributed.ts): the flags, and what each process
// prints — the coordinator the merged report with a row per process, the others their own report.

/** Default barrier timeout: pods of an Indexed Job may wait for a node and an image pull. */
const DEFAULT_BARRIER_TIMEOUT = '5m';

export function withDistributedFlags<T>(y: Argv<T>) {
  const g = 'Several processes:';
  return y
    .option('processes', {
      type: 'number',
      describe:
        'Processes (machines, Indexed Job pods) running this benchmark together through the target etcd; --ops and --rate are their total [default: 1]',
      group: g,
    })
    .option('process-index', {
      type: 'number',
      describe:
        'This process: 0 (the coordinator: checks, merges, deletes) to N-1 [default: $JOB_COMPLETION_INDEX]',
      group: g,
    })
    .option('run-id', {
      type: 'string',
      describe:
        'Run id shared by every process (prefix /etcd-monitor/bench/<run-id>/) [default: a random UUID]',
      group: g,
    })
    .option('barrier-timeout', {
      type: 'string',
      describe: `How long processes wait for each other (start barrier, results) [default: ${DEFAULT_BARRIER_TIMEOUT}]`,
      group: g,
    })
    .option('latency-file', {
      type: 'string',
      describe: "Write every successful call's latency (µs, one `r|w <µs>` line per call) to this file",
      group: 'Benchmark:',
    });
}

/** The distributed part of the flags; undefined for a run of one process. */
export function distributedFromFlags(
  argv: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): DistributedOptions | undefined {
  const processes = (argv['processes'] as number | undefined) ?? 1;
  if (!Number.isInteger(processes) || processes < 1)
    throw new ConfigError('processes', `must be a positive integer, got ${processes}`);
  if (processes === 1) return undefined;
  let index = argv['process-index'] as number | undefined;
  const fromJob = env['JOB_COMPLETION_INDEX'];
  if (index === undefined && fromJob !== undefined && fromJob !== '') {
    if (!/^\d+$/.test(fromJob))
      throw new ConfigError(
        'process-index',
        `$JOB_COMPLETION_INDEX is ${JSON.stringify(fromJob)}, not an index`,
      );
    index = Number(fromJob);
  }
  if (index === undefined)
    throw new ConfigError(
      'process-index',
      `--processes ${processes} needs --process-index (or $JOB_COMPLETION_INDEX of a Kubernetes Indexed Job)`,
    );
  const barrierTimeoutMs = parseFlagDuration(
    String(argv['barrier-timeout'] ?? DEFAULT_BARRIER_TIMEOUT),
    'barrier-timeout',
  );
  return { processes, index, barrierTimeoutMs };
}

const f1 = (n: number): string => n.toFixed(1);

/** One row per process: what it did and measured on its own. */
export function formatProcessRows(reports: readonly ProcessReport[]): string {
  const lines = [
    'Processes:',
    '  #  host                  pid      status       calls      ops/sec    P50 ms    P99 ms   secs',
  ];
  for (const p of reports) {
    const r = p.result;
    lines.push(
      `  ${String(p.index).padEnd(2)} ${p.host.slice(0, 21).padEnd(21)} ${String(p.pid).padEnd(8)} ${p.status.padEnd(12)} ${String(r?.total ?? 0).padStart(6)} ${(r ? f1(r.throughput) : '-').padStart(12)} ${(r ? r.latency.p50Ms.toFixed(3) : '-').padStart(9)} ${(r ? r.latency.p99Ms.toFixed(3) : '-').padStart(9)} ${(r ? r.durationSeconds.toFixed(2) : '-').padStart(6)}`,
    );
  }
  return lines.join('\n');
}

/** The coordinator's text report: the merged run, then the processes, then the cleanup. */
export function formatDistributed(r: DistributedResult): string {
  const cleanup = formatCleanup(r.cleanup);
  const head = formatResult(r).replace(`${cleanup}\n`, '');
  return `${head}${formatProcessRows(r.processes)}\n  (${r.processes.length} processes: throughput is the sum of theirs, latency from their merged HDR histograms)\n\n${cleanup}\n`;
}

/** A non-coordinator's text report: its own numbers; the keys are the coordinator's to delete. */
export function formatProcessReport(p: ProcessReport, prefix: string): string {
  const note = `Cleanup: process 0 (the coordinator) merges this result and deletes everything under ${JSON.stringify(prefix)}`;
  if (!p.result) return `Process ${p.index}: ${p.status}\n${note}\n`;
  const body = formatResult({
    ...p.result,
    cleanup: { prefix, deletedKeys: 0, deleteRevision: 0, compactedRevision: null },
  });
  return `Process ${p.index} of a distributed run (its own share)\n${body.slice(0, body.lastIndexOf('Cleanup:'))}${note}\n`;
}

/**
 * Runs this process's part of a distributed benchmark and prints it. A failure prints its stable code
 * (`etcd-monitor: BENCH_PROCESS_MISSING: ...`) and exits 1; a signal exits 128+n after the cleanup.
 */
export async function benchDistributed(
  o: BenchOptions & { runId: string },
  d: DistributedOptions,
  output: 'text' | 'json',
  failOnSlo: boolean,
): Promise<void> {
  const prefix = o.prefix ?? `/etcd-monitor/bench/${o.runId}/`;
  let done;
  try {
    done = await withSignals(prefix, (signal) => runDistributed({ ...o, signal }, d));
  } catch (err) {
    if (
      err instanceof MonitorError &&
      !(err instanceof ConfigError) &&
      !(err instanceof BenchInterruptedError)
    ) {
      if (output === 'json')
        process.stdout.write(
          `${JSON.stringify({ error: { code: err.code, message: err.message, processIndex: d.index } }, null, 2)}\n`,
        );
      process.stderr.write(`etcd-monitor: ${err.code}: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
  if (done.signal) {
    process.exitCode = SIGNAL_EXIT[done.signal];
    return;
  }
  const out = done.value!;
  if (out.kind === 'process') {
    process.stdout.write(
      output === 'json'
        ? `${JSON.stringify(out.report, null, 2)}\n`
        : formatProcessReport(out.report, prefix),
    );
    return;
  }
  process.stdout.write(
    output === 'json' ? `${JSON.stringify(out.result, null, 2)}\n` : formatDistributed(out.result),
  );
  if (!out.result.slo.passed && (o.profile || failOnSlo)) process.exitCode = 1;
}

/**
 * `bench` without --serve: opens --latency-file, then runs one process's benchmark (`single`, which
 * honours --run-id) or, with --processes > 1, this process's part of a distributed one.
 */
export async function benchFromFlags(
  o: BenchOptions,
  argv: Record<string, unknown>,
  single: (o: BenchOptions) => Promise<void>,
): Promise<void> {
  const d = distributedFromFlags(argv, process.env);
  const runId = argv['run-id'] as string | undefined;
  validateDistributed({ processes: d?.processes ?? 1, index: d?.index ?? 0, runId, ops: o.ops });
  const path = argv['latency-file'] as string | undefined;
  const file = path !== undefined ? await openLatencyFile(path) : undefined;
  const withFile: BenchOptions = file ? { ...o, onLatencyBatch: (op, m, n) => file.sink(op, m, n) } : o;
  try {
    if (d)
      await benchDistributed(
        { ...withFile, runId: runId! },
        d,
        argv['output'] === 'json' ? 'json' : 'text',
        Boolean(argv['fail-on-slo']),
      );
    else await single(runId !== undefined ? { ...withFile, runId } : withFile);
  } finally {
    await file?.close();
  }
}
