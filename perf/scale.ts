/**
 * Scale benchmark (issue 16 part 2; not a test). For 30, 300 and 1,000 members (3-member clusters: 10, 100,
 * 333 of them) served by simulated members in a separate process (harness/simulated-members.ts), measures
 * side by side in one run:
 *   on / off  the real exporter (compiled from src/ as `npm run build` does, started with the node flags of
 *             bin/etcd-monitor.js, default intervals) with re-exposure on, then off, scraped by a real
 *             Prometheus every --scrape-interval (15 s): exporter CPU per member-round, RSS, RSS per member
 *             above an idle exporter's, the /metrics size, and the scrape_duration_seconds Prometheus saw;
 *   direct    a real Prometheus scraping every member's /metrics itself (one target per member, what
 *             kube-prometheus-stack does): its CPU per member scrape, minus that of an idle Prometheus
 *             (no targets) measured over the same window.
 * The idle exporters (one 3-member cluster, re-exposure on and off, scraped every interval) and the idle
 * Prometheus run through the whole benchmark, so every window has its own baseline.
 *
 * Run: npx tsx perf/scale.ts                       # 30, 300, 1,000 members, ≈20 min
 *      npx tsx perf/scale.ts --sizes 30,300 --window 40
 *      npx tsx perf/scale.ts --cpu-prof --sizes 300,1000 --phases on --label profile
 *      knobs: --warmup 30 --window 60 (s) --scrape-interval 15 --source sim|etcd --etcd-version 3.4|3.5
 * Appends the run to perf/results/scale.json and rewrites perf/results/scale.md. Stops what it started.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startPrometheus, type RunningPrometheus, PROMETHEUS_BIN } from '../harness/prometheus.js';
import { round } from './exporter-stats.js';
import {
  compileScaleExporter,
  scrapeEvery,
  scrapeOnce,
  startScaleExporter,
  type ScaleExporter,
} from './scale-exporter.js';
import { startMembers, type MemberSource, type SourceKind } from './scale-members.js';
import { measureWindow, type WindowResult } from './scale-proc.js';
import { samplesIn, scalarAt, vectorAt } from './scale-prom.js';
import { summarizeProfile } from './scale-profile.js';
import {
  renderScaleMarkdown,
  type DirectPhase,
  type ExporterPhase,
  type ScaleRun,
  type WindowSummary,
} from './scale-report.js';

const REPO = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '30,300,1000' },
    phases: { type: 'string', default: 'on,off,direct' },
    warmup: { type: 'string', default: '30' },
    window: { type: 'string', default: '60' },
    'scrape-interval': { type: 'string', default: '15' },
    source: { type: 'string', default: 'sim' },
    'etcd-version': { type: 'string', default: '3.4' },
    'cpu-prof': { type: 'boolean', default: false },
    label: { type: 'string', default: '' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results', 'scale') },
  },
});
const log = (msg: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));
const MiB = 2 ** 20;

const sizes = args.sizes.split(',').map(Number);
const phases = new Set(args.phases.split(','));
const warmupS = Number(args.warmup);
const windowS = Number(args.window);
const intervalS = Number(args['scrape-interval']);
const source = args.source as SourceKind;
const etcdVersion = args['etcd-version'] as '3.4' | '3.5';
if (sizes.some((n) => !(n >= 3) || n % 3 > 1))
  throw new Error('--sizes: members, 3 per cluster (30,300,1000)');
if (source !== 'sim' && source !== 'etcd') throw new Error('--source is sim or etcd');
if (etcdVersion !== '3.4' && etcdVersion !== '3.5') throw new Error('--etcd-version is 3.4 or 3.5');

const hostOf = (endpoint: string) => new URL(endpoint).host;
const memberCount = (s: MemberSource) => s.clusters.reduce((n, c) => n + c.endpoints.length, 0);

/** The idle baselines that run through the whole benchmark. */
interface Idle {
  readonly members: number;
  readonly exporters: Record<'on' | 'off', ScaleExporter>;
  readonly prometheus: RunningPrometheus;
}

function scrapeIdleExporters(idle: Idle) {
  return (until: number) =>
    Promise.all([
      scrapeEvery(idle.exporters.on.base, intervalS * 1000, until),
      scrapeEvery(idle.exporters.off.base, intervalS * 1000, until),
    ]).then(() => undefined);
}

function withSim(pids: Record<string, number>, members: MemberSource): Record<string, number> {
  return members.pid ? { ...pids, members: members.pid } : pids;
}

async function exporterPhase(
  cli: string,
  members: MemberSource,
  reexpose: boolean,
  idle: Idle,
): Promise<ExporterPhase> {
  const mode = reexpose ? 'on' : 'off';
  const n = memberCount(members);
  const profDir = path.join(REPO, '.tmp', `scale-prof-${n}-${mode}`);
  if (args['cpu-prof']) {
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
  }
  const t0 = Date.now();
  const exporter = await startScaleExporter({
    cli,
    source: members,
    reexpose,
    label: `${n}-${mode}`,
    extraNodeFlags: args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
  });
  const readyMs = Date.now() - t0;
  const readyRounds = exporter.metricsRounds();
  log(`  exporter (re-expose ${mode}) ready after ${readyMs} ms, pid ${exporter.proc.pid}`);
  let prom: RunningPrometheus | undefined;
  try {
    prom = await startPrometheus({
      scrapeTargets: [hostOf(exporter.base)],
      jobName: 'etcd-monitor',
      interval: `${intervalS}s`,
      honorLabels: true,
    });
    await sleep(warmupS);
    // At least two metrics rounds of every cluster after /ready (on a loaded machine rounds run late).
    const warm = await waitUntil(() => exporter.metricsRounds() >= readyRounds + 2 * exporter.clusters, 120);
    if (!warm)
      log(`  warm-up: only ${exporter.metricsRounds()} cluster rounds after 120 s more; measuring anyway`);
    const windowStart = Date.now() / 1000;
    const rounds0 = exporter.metricsRounds();
    const skipped0 = exporter.skippedRounds();
    const window = await measureWindow(
      withSim(
        {
          exporter: exporter.proc.pid,
          prometheus: prom.pid,
          idleExporter: idle.exporters[mode].proc.pid,
          idlePrometheus: idle.prometheus.pid,
        },
        members,
      ),
      windowS,
      scrapeIdleExporters(idle),
    );
    const end = Date.now() / 1000;
    const clusterRounds = exporter.metricsRounds() - rounds0;
    const skipped = exporter.skippedRounds() - skipped0;
    const memberRounds = (clusterRounds * n) / members.clusters.length;
    const durations = await samplesIn(
      prom,
      'scrape_duration_seconds{job="etcd-monitor"}',
      window.seconds,
      end,
    );
    const samplesScraped = await scalarAt(prom, 'max(scrape_samples_scraped{job="etcd-monitor"})', end);
    const range = `[${Math.round(window.seconds * 1000)}ms]`;
    const upMin = await scalarAt(prom, `min(min_over_time(up{job="etcd-monitor"}${range}))`, end);
    const failed = await scalarAt(
      prom,
      `sum(count_over_time(up{job="etcd-monitor"}${range}) - sum_over_time(up{job="etcd-monitor"}${range}))`,
      end,
    );
    const plain = await scrapeOnce(exporter.base, false);
    const gzip = await scrapeOnce(exporter.base, true).catch((err: Error) => {
      log(`  our gzip scrape failed: ${err.message}`);
      return { bytes: NaN, ms: NaN };
    });
    const text = plain.text ?? '';
    const collected = (
      text.match(/^etcd_monitor_collector_success\{[^}]*collector="metrics"[^}]*\} 1$/gm) ?? []
    ).length;
    // Failed collections in the window (as far as Prometheus' scrapes bracket it), by collector and error
    // code: none on a machine that keeps up; timeouts when the exporter or the simulator is starved of CPU.
    const byCode = 'sum by (collector, code) (etcd_monitor_collector_errors_total{job="etcd-monitor"})';
    const before = await vectorAt(prom, byCode, windowStart);
    const errors: Record<string, number> = {};
    for (const [key, value] of Object.entries(await vectorAt(prom, byCode, end))) {
      const added = value - (before[key] ?? 0);
      if (added > 0) errors[key] = added;
    }
    const p = window.processes;
    const cpu = p.exporter?.cpuSeconds ?? NaN;
    const promAboveIdle = (p.prometheus?.cpuSeconds ?? NaN) - (p.idlePrometheus?.cpuSeconds ?? NaN);
    const idleRss = p.idleExporter?.rssMedianBytes ?? NaN;
    // The idle exporter watches idle.members members through the same window: what it used is the
    // exporter's fixed cost plus those members, so the difference is what the other members cost.
    const idleMemberRounds = (memberRounds * idle.members) / n;
    const marginal = (cpu - (p.idleExporter?.cpuSeconds ?? NaN)) / (memberRounds - idleMemberRounds);
    const rssMedian = p.exporter?.rssMedianBytes ?? NaN;
    const durationMedian = median(durations);
    const result: ExporterPhase = {
      reexpose,
      members: n,
      clusters: members.clusters.length,
      readyMs,
      window: summarizeWindow(window),
      clusterRounds,
      skippedRounds: skipped,
      memberRounds: round(memberRounds, 1),
      cpuMsPerMemberRound: round((cpu * 1000) / memberRounds, 3),
      cpuMsPerMemberRoundAboveIdle: round(marginal * 1000, 3),
      rssMedianMiB: round(rssMedian / MiB, 1),
      rssMaxMiB: round((p.exporter?.rssMaxBytes ?? NaN) / MiB, 1),
      hwmMiB: round((p.exporter?.hwmBytes ?? NaN) / MiB, 1),
      idleRssMedianMiB: round(idleRss / MiB, 1),
      rssPerMemberAboveIdleKiB: round((rssMedian - idleRss) / 1024 / (n - idle.members), 1),
      exposition: {
        plainBytes: plain.bytes,
        gzipBytes: gzip.bytes,
        samples: text.split('\n').filter((l) => l && !l.startsWith('#')).length,
        ourPlainScrapeMs: round(plain.ms, 1),
        ourGzipScrapeMs: round(gzip.ms, 1),
      },
      membersCollected: collected,
      collectorErrors: errors,
      prometheus: {
        scrapes: durations.length,
        failedScrapes: failed,
        durationMedianS: round(durationMedian, 3),
        durationMaxS: round(Math.max(...durations), 3),
        shareOfInterval: round(durationMedian / intervalS, 4),
        samplesScraped,
        upMin,
        cpuSecondsAboveIdle: round(promAboveIdle, 2),
        cpuUsPerMemberScrapeAboveIdle: round((promAboveIdle * 1e6) / (durations.length * n), 1),
      },
    };
    log(
      `  re-expose ${mode}: ${result.cpuMsPerMemberRound} ms CPU/member-round (${clusterRounds} cluster rounds, ${skipped} skipped), ` +
        `RSS ${result.rssMedianMiB}/${result.rssMaxMiB} MiB (idle ${result.idleRssMedianMiB}; ${result.rssPerMemberAboveIdleKiB} KiB/member), ` +
        `/metrics ${round(plain.bytes / 1e6, 2)} MB (gzip ${round(gzip.bytes / 1e6, 2)}), ` +
        `Prometheus scrape ${result.prometheus.durationMedianS}s median of ${durations.length} (${failed} failed), ` +
        `exporter ${round(cpu / window.seconds, 2)} cores, ` +
        `${collected}/${n} members collected, collection errors in the window ${JSON.stringify(errors)}`,
    );
    return result;
  } finally {
    await prom?.stop();
    await exporter.stop();
    if (args['cpu-prof']) {
      const summary = summarizeProfile(profDir);
      profiles[`${n}-${mode}`] = summary;
      log(`  profile ${summary.file}: busy ${summary.busyMs} ms; top:`);
      for (const e of summary.topFunctions.slice(0, 10)) log(`    ${(e.share * 100).toFixed(1)}% ${e.what}`);
    }
  }
}

async function directPhase(members: MemberSource, idle: Idle): Promise<DirectPhase> {
  const n = memberCount(members);
  const prom = await startPrometheus({
    scrapeTargets: members.clusters.flatMap((c) => c.endpoints.map(hostOf)),
    jobName: 'etcd',
    interval: `${intervalS}s`,
    honorLabels: false,
  });
  try {
    await sleep(warmupS);
    // Every target scraped twice before the window: the first scrape creates its ≈1,300 series, which at
    // 1,000 members (1.3 million series) takes long enough to spill into a 30 s warm-up.
    const warm = await waitUntil(
      async () =>
        (await scalarAt(prom, 'count(count_over_time(up{job="etcd"}[10m]) >= 2)', Date.now() / 1000)) >= n,
      180,
    );
    if (!warm) log('  warm-up: not every member scraped twice after 180 s more; measuring anyway');
    const window = await measureWindow(
      withSim({ prometheus: prom.pid, idlePrometheus: idle.prometheus.pid }, members),
      windowS,
    );
    const end = Date.now() / 1000;
    const range = `[${Math.round(window.seconds * 1000)}ms]`;
    const scrapes = await scalarAt(prom, `sum(count_over_time(up{job="etcd"}${range}))`, end);
    const upOk = await scalarAt(prom, `count(min_over_time(up{job="etcd"}${range}) == 1)`, end);
    const durations = await samplesIn(prom, 'scrape_duration_seconds{job="etcd"}', window.seconds, end);
    const samplesPerMember = await scalarAt(prom, 'avg(scrape_samples_scraped{job="etcd"})', end);
    const headSeries = await ownMetric(prom, 'prometheus_tsdb_head_series');
    const p = window.processes;
    const aboveIdle = (p.prometheus?.cpuSeconds ?? NaN) - (p.idlePrometheus?.cpuSeconds ?? NaN);
    const result: DirectPhase = {
      members: n,
      window: summarizeWindow(window),
      scrapes,
      membersUp: upOk,
      cpuSeconds: round(p.prometheus?.cpuSeconds ?? NaN, 2),
      idleCpuSeconds: round(p.idlePrometheus?.cpuSeconds ?? NaN, 2),
      cpuMsPerMemberScrape: round((aboveIdle * 1000) / scrapes, 3),
      durationMedianS: round(median(durations), 4),
      samplesPerMember: round(samplesPerMember, 0),
      headSeries,
      rssMedianMiB: round((p.prometheus?.rssMedianBytes ?? NaN) / MiB, 1),
    };
    log(
      `  direct: ${result.cpuMsPerMemberScrape} ms CPU/member scrape above idle (${scrapes} scrapes, ` +
        `${result.cpuSeconds} s CPU, idle ${result.idleCpuSeconds} s), ${upOk}/${n} up throughout, ` +
        `scrape ${result.durationMedianS}s median, ${samplesPerMember} samples/member, RSS ${result.rssMedianMiB} MiB`,
    );
    return result;
  } finally {
    await prom.stop();
  }
}

/** Polls `check` every 2 s for up to `seconds`; true once it held. */
async function waitUntil(check: () => boolean | Promise<boolean>, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(2);
  }
}

/** A sample of Prometheus' own /metrics (it does not scrape itself here). */
async function ownMetric(prom: RunningPrometheus, name: string): Promise<number> {
  const text = await (await fetch(`${prom.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The window's conditions, for the JSON: CPU and RSS of every watched process, machine load. */
function summarizeWindow(w: WindowResult): WindowSummary {
  return {
    seconds: round(w.seconds, 1),
    machineBusy: round(w.machineBusy, 3),
    loadAverage: [w.loadAverageStart, w.loadAverageEnd],
    processes: Object.fromEntries(
      Object.entries(w.processes).map(([k, v]) => [
        k,
        {
          cpuSeconds: round(v.cpuSeconds, 2),
          rssMedianMiB: round(v.rssMedianBytes / MiB, 1),
          rssMaxMiB: round(v.rssMaxBytes / MiB, 1),
          hwmMiB: round(v.hwmBytes / MiB, 1),
        },
      ]),
    ),
  };
}

const profiles: Record<string, ReturnType<typeof summarizeProfile>> = {};

function git(...argv: string[]): string {
  return execFileSync('git', ['-C', REPO, ...argv], { encoding: 'utf8' }).trim();
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`compiling the exporter (tsconfig.build.json into .tmp/scale-exporter-dist)`);
  const cli = compileScaleExporter();
  const commit = git('rev-parse', '--short=12', 'HEAD');
  const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean);
  const promVersion = execFileSync(PROMETHEUS_BIN, ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  log(`commit ${commit}${dirty.length ? ` + ${dirty.length} uncommitted src/ files` : ''}; ${promVersion}`);

  const stops: (() => Promise<void>)[] = [];
  const run: ScaleRun = {
    label: args.label || (args['cpu-prof'] ? 'profile' : 'run'),
    when: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    commit,
    uncommittedSrc: dirty,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, shared with other sessions`,
    node: process.version,
    prometheus: promVersion,
    settings: {
      source,
      etcdVersion,
      warmupSeconds: warmupS,
      windowSeconds: windowS,
      scrapeIntervalSeconds: intervalS,
      exporter:
        'compiled with tsconfig.build.json, node ' +
        `${readFileSync(path.join(REPO, 'bin/etcd-monitor.js'), 'utf8')
          .split('\n')[0]
          ?.replace(/^#!\/usr\/bin\/env -S /, '')}` +
        ' <compiled>/cli.js --config <all clusters> --reexpose=<on|off> --log-level debug; default intervals ' +
        '(metrics 10 s, health 30 s, HashKV 300 s)',
      cpuProfile: args['cpu-prof'],
    },
    idle: { members: 0, exporterRssMiB: {}, prometheusCpuSecondsPerMinute: NaN },
    sizes: [],
    minutes: NaN,
  };
  try {
    log(
      'idle baselines: one 3-member cluster, exporters with re-exposure on and off, a Prometheus with no targets',
    );
    const idleMembers = await startMembers(source, 1, 'idle', etcdVersion);
    stops.push(() => idleMembers.stop());
    const idleOn = await startScaleExporter({ cli, source: idleMembers, reexpose: true, label: 'idle-on' });
    stops.push(() => idleOn.stop());
    const idleOff = await startScaleExporter({
      cli,
      source: idleMembers,
      reexpose: false,
      label: 'idle-off',
    });
    stops.push(() => idleOff.stop());
    const idleProm = await startPrometheus({ scrapeTargets: [], jobName: 'none', interval: `${intervalS}s` });
    stops.push(() => idleProm.stop());
    const idle: Idle = {
      members: memberCount(idleMembers),
      exporters: { on: idleOn, off: idleOff },
      prometheus: idleProm,
    };
    run.idle.members = idle.members;

    for (const size of sizes) {
      const clusters = Math.floor(size / 3);
      log(`${size} members: starting ${clusters} clusters × 3 (${source})`);
      const t0 = Date.now();
      const members = await startMembers(source, clusters, 'sim', etcdVersion);
      log(
        `  ${memberCount(members)} members up in ${Date.now() - t0} ms${members.pid ? `, pid ${members.pid}` : ''}`,
      );
      try {
        const entry: ScaleRun['sizes'][number] = { members: memberCount(members), clusters, exporter: {} };
        if (phases.has('on')) entry.exporter.on = await exporterPhase(cli, members, true, idle);
        if (phases.has('off')) entry.exporter.off = await exporterPhase(cli, members, false, idle);
        if (phases.has('direct')) entry.direct = await directPhase(members, idle);
        run.sizes.push(entry);
      } finally {
        await members.stop();
      }
    }
    for (const phase of run.sizes.flatMap((s) => [s.exporter.on, s.exporter.off])) {
      if (phase)
        run.idle.exporterRssMiB[`${phase.members}-${phase.reexpose ? 'on' : 'off'}`] = phase.idleRssMedianMiB;
    }
    const idleCpu = run.sizes
      .flatMap((s) => [s.direct?.window, s.exporter.on?.window, s.exporter.off?.window])
      .flatMap((w) =>
        w?.processes.idlePrometheus ? [w.processes.idlePrometheus.cpuSeconds / w.seconds] : [],
      );
    run.idle.prometheusCpuSecondsPerMinute = round(median(idleCpu) * 60, 3);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: Error) => log(`cleanup: ${err.message}`));
  }
  if (Object.keys(profiles).length > 0) run.profiles = profiles;
  run.minutes = round((Date.now() - started) / 60_000, 1);
  const jsonFile = `${args.out}.json`;
  const runs: ScaleRun[] = existsSync(jsonFile)
    ? ((JSON.parse(readFileSync(jsonFile, 'utf8')) as { runs: ScaleRun[] }).runs ?? [])
    : [];
  runs.push(run);
  await writeFile(jsonFile, JSON.stringify({ runs }, null, 2) + '\n');
  await writeFile(`${args.out}.md`, renderScaleMarkdown(runs));
  log(`wrote ${jsonFile} and ${args.out}.md (${run.minutes} min)`);
}

await main();
