/**
 * Exporter performance benchmark (not a test): 10 real local etcd clusters × 3 members.
 *   (a)/(b) one complete collection round vs a raw concurrent fetch of every member's /metrics;
 *   (c) /metrics latency of the exporter process under autocannon load;
 *   (d) exporter RSS during that load.
 * Run: npx tsx perf/exporter-bench.ts [--clusters 10] [--members 3] [--reps 9] [--duration 15]
 *      [--runtime compiled|tsx]  (compiled: tsc into .tmp/, as the shipped bin runs; tsx adds ≈30 MB RSS)
 *      [--node-options='--max-semi-space-size=2'] (default: the flags of bin/etcd-monitor.js's shebang)
 *      [--out perf/results/NAME]
 * Writes perf/results/exporter-bench.{json,md}; always stops every etcd process it started.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startFixture, type BenchFixture } from './exporter-fixture.js';
import { measureLoad, type LoadPlan } from './exporter-load.js';
import { machineInfo, renderMarkdown, TARGETS, type BenchReport } from './exporter-report.js';
import type { RoundResult } from './exporter-round.js';
import { round } from './exporter-stats.js';

const { values: args } = parseArgs({
  options: {
    clusters: { type: 'string', default: '10' },
    members: { type: 'string', default: '3' },
    keys: { type: 'string', default: '500' },
    reps: { type: 'string', default: '9' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '15' },
    runtime: { type: 'string', default: 'compiled' },
    'node-options': { type: 'string' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results', 'exporter-bench') },
  },
});

const log = (msg: string) => process.stdout.write(`${msg}\n`);
const num = (name: keyof typeof args) => Number(args[name]);
const METRICS_INTERVAL_S = 10;

async function main(): Promise<void> {
  const machine = machineInfo();
  log(
    `exporter benchmark: ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, etcd ${machine.etcd}`,
  );
  log(`starting ${num('clusters')} clusters × ${num('members')} members`);
  let fixture: BenchFixture | undefined;
  try {
    fixture = await startFixture(
      {
        clusters: num('clusters'),
        members: num('members'),
        keysPerCluster: num('keys'),
        metricsIntervalSeconds: METRICS_INTERVAL_S,
      },
      log,
    );
    const nodeOptions = (args['node-options'] ?? shippedNodeFlags()).split(/\s+/).filter(Boolean);
    log(
      `(a)/(b) raw fetch vs collection round: ${num('warmup')} warm-up + ${num('reps')} interleaved repetitions, node ${nodeOptions.join(' ')}`,
    );
    const rounds = measureRoundsInChild(
      fixture.configFile,
      nodeOptions,
      path.join(fixture.dir, 'rounds.json'),
    );
    log(
      `  medians: raw ${round(rounds.rawFetchMs.median)} ms, round ${round(rounds.roundMs.median)} ms, ratio ${round(rounds.ratio, 2)}`,
    );

    log('(c)/(d) exporter process under autocannon load');
    const duration = num('duration');
    const plans: LoadPlan[] = [
      { connections: 1, durationSeconds: duration, judged: true },
      { connections: 1, durationSeconds: duration, acceptEncoding: 'gzip', judged: true },
      { connections: 10, durationSeconds: duration, judged: false },
      { connections: 10, durationSeconds: duration, acceptEncoding: 'gzip', judged: false },
    ];
    if (args.runtime !== 'compiled' && args.runtime !== 'tsx')
      throw new Error('--runtime is compiled or tsx');
    const load = await measureLoad(
      args.runtime,
      nodeOptions,
      fixture.configFile,
      path.join(fixture.dir, 'data'),
      plans,
      log,
    );
    const judgedRuns = load.runs.filter((r) => r.judged);
    if (judgedRuns.length === 0) throw new Error('no judged load run');

    const report: BenchReport = {
      machine,
      setup: {
        clusters: num('clusters'),
        membersPerCluster: num('members'),
        keysPerCluster: num('keys'),
        metricsInterval: `${METRICS_INTERVAL_S}s`,
      },
      round: rounds,
      load,
      verdict: {
        roundRatio: rounds.ratio <= TARGETS.roundRatio,
        p99: judgedRuns.every((r) => r.latencyMs.p99 <= TARGETS.p99Ms),
        rss: Math.max(load.rss.maxSampledBytes, load.rss.hwmBytes) <= TARGETS.rssBytes,
      },
      loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)),
    };
    await mkdir(path.dirname(args.out), { recursive: true });
    await writeFile(`${args.out}.json`, JSON.stringify(report, null, 2) + '\n');
    const md = renderMarkdown(report);
    await writeFile(`${args.out}.md`, md);
    log(`\n${md}\nwritten: ${args.out}.json, ${args.out}.md`);
  } finally {
    log('stopping etcd clusters');
    await fixture?.destroy();
  }
}

/**
 * The round comparison in a child process with the exporter's node flags: the flags change V8's GC and
 * JIT, so measuring in this (default-flagged) process would not be measuring what ships.
 */
function measureRoundsInChild(configFile: string, nodeOptions: readonly string[], out: string): RoundResult {
  execFileSync(
    process.execPath,
    [
      ...nodeOptions,
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'exporter-round-main.ts'),
      configFile,
      String(num('reps')),
      String(num('warmup')),
      out,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], cwd: path.join(import.meta.dirname, '..') },
  );
  return JSON.parse(readFileSync(out, 'utf8')) as RoundResult;
}

/** The node flags `bin/etcd-monitor.js` runs with (its `#!/usr/bin/env -S node …` line), so the benchmark measures what ships. */
function shippedNodeFlags(): string {
  const shebang =
    readFileSync(path.join(import.meta.dirname, '..', 'bin', 'etcd-monitor.js'), 'utf8').split('\n')[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node(.*)$/.exec(shebang);
  if (!match) throw new Error(`unexpected first line of bin/etcd-monitor.js: ${shebang}`);
  return (match[1] ?? '').trim();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `exporter benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
    process.exit(1);
  },
);
