import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { LoadResult, LoadRun } from './exporter-load.js';
import type { RoundResult } from './exporter-round.js';
import { round } from './exporter-stats.js';

/** Targets from the issue. */
export const TARGETS = { roundRatio: 1.5, p99Ms: 25, rssBytes: 150 * 2 ** 20 } as const;

/** Where and with what the numbers were taken. */
export interface MachineInfo {
  readonly date: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly loadAverageAtStart: number[];
  readonly node: string;
  readonly etcd: string;
}

/** Everything the benchmark writes to perf/results/exporter-bench.json. */
export interface BenchReport {
  readonly machine: MachineInfo;
  readonly setup: {
    clusters: number;
    membersPerCluster: number;
    keysPerCluster: number;
    metricsInterval: string;
  };
  readonly round: RoundResult;
  readonly load: LoadResult;
  readonly verdict: { readonly roundRatio: boolean; readonly p99: boolean; readonly rss: boolean };
  readonly loadAverageAtEnd: number[];
}

/** Reads the machine description once, at the start of the run. */
export function machineInfo(): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const etcd = execFileSync(process.env.ETCD_BIN ?? 'etcd', ['--version'], { encoding: 'utf8' });
  return {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memoryBytes: os.totalmem(),
    loadAverageAtStart: os.loadavg().map((l) => round(l, 2)),
    node: process.version,
    etcd: /etcd Version:\s*(\S+)/.exec(etcd)?.[1] ?? etcd.trim(),
  };
}

/** "1 connection, plain, back to back" and the like. */
function shape(run: LoadRun): string {
  const conns = `${run.connections} connection${run.connections === 1 ? '' : 's'}`;
  const rate = run.overallRate ? `at ${run.overallRate} req/s` : 'back to back';
  return `${conns}, ${run.acceptEncoding ?? 'plain'}, ${rate}`;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const pass = (ok: boolean) => (ok ? 'pass' : '**FAIL**');

/** Markdown of one report, written next to the JSON. */
export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    '# Exporter benchmark',
    '',
    `Date ${m.date}; ${m.cpus} × ${m.cpuModel}, ${mib(m.memoryBytes)} RAM, load average at start ${m.loadAverageAtStart.join(' / ')}, at end ${r.loadAverageAtEnd.join(' / ')};`,
    `Node ${m.node}, etcd ${m.etcd}; ${r.setup.clusters} clusters × ${r.setup.membersPerCluster} members on loopback, ${r.setup.keysPerCluster} keys each; exporter metrics interval ${r.setup.metricsInterval}, run as ${r.load.runtime}.`,
    '',
    '| Measure | Result | Target | Verdict |',
    '|---|---|---|---|',
    `| One complete collection round (per cluster collect, derive, re-expose render, all clusters concurrently; then the merge into the served block; alarms from the statuses, member list from one member), median of ${r.round.repetitions}, node ${r.round.nodeFlags?.join(' ') || 'default flags'} | ${round(r.round.roundMs.median)} ms | | |`,
    `| Raw concurrent fetch of all ${r.setup.clusters * r.setup.membersPerCluster} members' /metrics, median of ${r.round.repetitions} | ${round(r.round.rawFetchMs.median)} ms | | |`,
    `| Round / raw | ${round(r.round.ratio, 2)}× | ≤ ${TARGETS.roundRatio}× | ${pass(r.verdict.roundRatio)} |`,
    ...r.load.runs
      .filter((run) => run.judged)
      .map(
        (run) =>
          `| /metrics latency P50 / P99, ${shape(run)}, ${run.durationSeconds} s | ${run.latencyMs.p50} / ${run.latencyMs.p99} ms | P99 ≤ ${TARGETS.p99Ms} ms | ${pass(run.latencyMs.p99 <= TARGETS.p99Ms)} |`,
      ),
    `| Exporter RSS: max sampled under load / peak (VmHWM) | ${mib(r.load.rss.maxSampledBytes)} / ${mib(r.load.rss.hwmBytes)} | ≤ ${mib(TARGETS.rssBytes)} | ${pass(r.verdict.rss)} |`,
    '',
    `CPU time of the benchmark process (medians, not counting the etcd members): raw fetch ${round(r.round.cpuMs.rawFetch)} ms, round ${round(r.round.cpuMs.round)} ms.`,
    `Round split (medians): slowest cluster's collection ${round(r.round.roundPartsMs.collect)} ms; derive ${round(r.round.roundPartsMs.derive, 2)} ms and re-expose render ${round(r.round.roundPartsMs.render)} ms summed over clusters (they overlap other clusters' I/O); merge into the served block ${round(r.round.roundPartsMs.merge)} ms (its gzip form is made by the first scrape that wants it, in the load runs). Raw bytes per round ${mib(r.round.rawBytesPerRound)}; re-exposed text ${mib(r.round.reexposedBytes)} (${r.round.reexposedLines} lines).`,
    `Raw samples (ms): ${r.round.rawFetchMs.samples.map((s) => round(s)).join(', ')}; round samples (ms): ${r.round.roundMs.samples.map((s) => round(s)).join(', ')}.`,
    '',
    `Exporter: ready ${r.load.startupToReadyMs} ms after start; one /metrics response ${mib(r.load.scrape.bytes)} (${r.load.scrape.lines} samples); sequential scrape median ${round(r.load.scrape.sequentialMedianMs)} ms; idle RSS ${mib(r.load.rss.idleBytes)}.`,
    '',
    'Load runs (autocannon, one after another against the same exporter; "as fast as it goes" runs measure throughput and are not judged: with ten connections in flight their latency is ten divided by the rate autocannon itself sustains):',
    '',
    '| Connections | Accept-Encoding | Rate | judged | req/s | P50 ms | P90 ms | P99 ms | max ms | MiB/s | exporter CPU (cores) | exporter CPU ms / request | RSS max | errors / non-2xx |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.load.runs.map(
      (run) =>
        `| ${run.connections} | ${run.acceptEncoding ?? '—'} | ${run.overallRate ? `${run.overallRate} req/s` : 'as fast as it goes'} | ${run.judged ? 'yes' : 'no'} | ${round(run.requestsPerSecond)} | ${run.latencyMs.p50} | ${run.latencyMs.p90} | ${run.latencyMs.p99} | ${run.latencyMs.max} | ${round(run.bytesPerSecond / 2 ** 20)} | ${round(run.exporterCpuCores, 2)} | ${round(run.exporterCpuMsPerRequest, 2)} | ${mib(run.rssMaxBytes)} | ${run.errors} / ${run.non2xx} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
