/**
 * Hostile-member benchmark (not a test). Starts a real 1-member etcd, a fake member (an in-process HTTP
 * server on loopback answering /metrics and /health) and the real exporter (`node <shipped GC flags>
 * --import tsx <root>/src/cli.ts`) watching both endpoints, then measures the exporter in two phases:
 *   normal   the fake member serves a real etcd 3.4 member's /metrics (test/fixtures, 1,291 series);
 *   hostile  the same plus --series extra lines of one re-exposed family (a label-cardinality explosion,
 *            150,000 by default as in issue 12);
 *   oversize the same with --oversize-series extra lines (250,000: an 18.8 MB body, over the 16 MiB cap on
 *            a member's /metrics body).
 * Per phase: the exporter's /metrics size (uncompressed), its RSS (sampled every 500 ms: median and max,
 * plus VmHWM at the end), whether its probe of the real etcd still succeeds, and the scrape time.
 * Run: npx tsx perf/hostile-member.ts --label after [--root /path/to/other/checkout] [--series 150000]
 *      [--seconds 30]
 * `--root` runs another checkout's exporter with this harness, e.g. a `git worktree` of the commit before a
 * change, so `before` and `after` are measured the same way. Merges its run into
 * perf/results/hostile-member.json under --label and rewrites perf/results/hostile-member.md with every
 * label side by side. Stops every process it started.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startCluster, type EtcdCluster } from '../harness/etcd-cluster.js';
import { findSample } from '../harness/exporter.js';
import { freePort } from '../harness/free-port.js';
import { spawnTracked, terminate, type TrackedProcess } from '../harness/processes.js';
import { waitExporterReady } from './exporter-ready.js';
import { median, round } from './exporter-stats.js';

const REPO = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: 'after' },
    root: { type: 'string', default: REPO },
    series: { type: 'string', default: '150000' },
    'oversize-series': { type: 'string', default: '250000' },
    seconds: { type: 'string', default: '30' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results', 'hostile-member') },
  },
});
const ROOT = path.resolve(args.root);
const log = (msg: string) => process.stdout.write(`${msg}\n`);

const PHASES = ['normal', 'hostile', 'oversize'] as const;
type Phase = (typeof PHASES)[number];
interface PhaseResult {
  readonly phase: Phase;
  /** Bytes of the fake member's /metrics body. */
  readonly memberBodyBytes: number;
  readonly memberSeries: number;
  /** The exporter's /metrics body at the end of the phase, uncompressed. */
  readonly exporterMetricsBytes: number;
  readonly exporterMetricsLines: number;
  readonly rssMedianMiB: number;
  readonly rssMaxMiB: number;
  /** Peak RSS since the exporter started (VmHWM) at the end of the phase. */
  readonly rssPeakMiB: number;
  readonly scrapeMedianMs: number;
  /** etcd_monitor_probe_success of the real member at the end of the phase. */
  readonly probeSuccess: number | undefined;
  /** etcd_monitor_reexpose_dropped of the fake member at the end of the phase (absent before the cap existed). */
  readonly reexposeDropped: number | undefined;
  /** etcd_monitor_collector_success{collector="metrics"} of the fake member at the end of the phase. */
  readonly memberMetricsOk: number | undefined;
}
interface Run {
  readonly label: string;
  readonly commit: string;
  readonly when: string;
  readonly machine: string;
  readonly settings: { series: number; oversizeSeries: number; seconds: number };
  readonly phases: readonly PhaseResult[];
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
const mib = (kib: number) => round(kib / 1024, 1);

/** The fake member's /metrics: a real etcd 3.4 follower's, plus `extra` lines of one family when hostile. */
function memberBody(extra: number): string {
  const base = readFileSync(path.join(REPO, 'test/fixtures/etcd-3.4/follower-metrics.txt'), 'utf8');
  if (extra === 0) return base;
  const lines = [
    '# HELP etcd_server_requests_by_key_total Requests per key (a label-cardinality explosion).',
    '# TYPE etcd_server_requests_by_key_total counter',
  ];
  for (let i = 0; i < extra; i++) {
    lines.push(`etcd_server_requests_by_key_total{key="/registry/pods/ns-${i % 97}/pod-${i}"} ${i % 13}`);
  }
  return `${base}${lines.join('\n')}\n`;
}

async function startFakeMember(): Promise<{ url: string; server: Server; serve(body: string): void }> {
  let body = '';
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"health":"true"}');
      return;
    }
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
      return;
    }
    res.writeHead(404).end();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, server, serve: (b) => (body = b) };
}

async function scrape(base: string): Promise<{ text: string; ms: number }> {
  const t0 = performance.now();
  const res = await request(`${base}/metrics`, { headersTimeout: 60_000, bodyTimeout: 60_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  return { text, ms: performance.now() - t0 };
}

async function measurePhase(
  phase: Phase,
  base: string,
  child: TrackedProcess,
  member: { url: string; serve(body: string): void },
  etcdName: string,
): Promise<PhaseResult> {
  const extra =
    phase === 'hostile' ? Number(args.series) : phase === 'oversize' ? Number(args['oversize-series']) : 0;
  const body = memberBody(extra);
  member.serve(body);
  const until = performance.now() + Number(args.seconds) * 1000;
  const rss: number[] = [];
  const scrapes: number[] = [];
  let last = '';
  const sampler = setInterval(() => rss.push(statusKiB(child.pid, 'VmRSS')), 500);
  try {
    // One scrape every 2 s, as a Prometheus with a short scrape interval would.
    while (performance.now() < until) {
      const { text, ms } = await scrape(base);
      last = text;
      scrapes.push(ms);
      await new Promise((r) => setTimeout(r, 2000));
      if (!child.running) throw new Error(`exporter died during ${phase}:\n${child.output()}`);
    }
    last = (await scrape(base)).text;
  } finally {
    clearInterval(sampler);
  }
  const fake = member.url.replace(/^https?:\/\//, '');
  return {
    phase,
    memberBodyBytes: Buffer.byteLength(body),
    memberSeries: body.split('\n').filter((l) => l && !l.startsWith('#')).length,
    exporterMetricsBytes: Buffer.byteLength(last),
    exporterMetricsLines: last.split('\n').length - 1,
    rssMedianMiB: mib(median(rss)),
    rssMaxMiB: mib(Math.max(...rss)),
    rssPeakMiB: mib(statusKiB(child.pid, 'VmHWM')),
    scrapeMedianMs: round(median(scrapes), 1),
    probeSuccess: findSample(last, 'etcd_monitor_probe_success', { member: etcdName, operation: 'read' }),
    reexposeDropped: findSample(last, 'etcd_monitor_reexpose_dropped', { member: fake }),
    memberMetricsOk: findSample(last, 'etcd_monitor_collector_success', {
      member: fake,
      collector: 'metrics',
    }),
  };
}

function renderMarkdown(runs: Record<string, Run>): string {
  const all = Object.values(runs);
  const lines = [
    '# Hostile member: a member serving a label-cardinality explosion',
    '',
    'Generated by `npx tsx perf/hostile-member.ts --label <label> [--root <checkout>]` (see the header of that',
    'file). The exporter watches a real 1-member etcd and a fake member whose /metrics is a real etcd 3.4',
    "member's (normal) or that plus N extra series of one re-exposed family (hostile); one scrape every 2 s.",
    '',
    `| label | commit | phase | member series | member body MB | exporter /metrics MB | /metrics lines | RSS median MiB | RSS max MiB | VmHWM MiB | scrape median ms | probe ok | member /metrics read | reexpose dropped |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const run of all) {
    for (const p of run.phases) {
      lines.push(
        `| ${run.label} | ${run.commit} | ${p.phase} | ${p.memberSeries.toLocaleString('en')} | ${round(p.memberBodyBytes / 1e6, 2)} | ${round(p.exporterMetricsBytes / 1e6, 2)} | ${p.exporterMetricsLines.toLocaleString('en')} | ${p.rssMedianMiB} | ${p.rssMaxMiB} | ${p.rssPeakMiB} | ${p.scrapeMedianMs} | ${p.probeSuccess ?? '—'} | ${p.memberMetricsOk ?? '—'} | ${p.reexposeDropped ?? '—'} |`,
      );
    }
  }
  lines.push('', 'Runs:', '');
  for (const run of all) {
    lines.push(
      `- ${run.label}: commit ${run.commit}, ${run.when}, ${run.machine}; ${run.settings.series.toLocaleString('en')} extra series (hostile), ${run.settings.oversizeSeries.toLocaleString('en')} (oversize), ${run.settings.seconds} s per phase.`,
    );
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hostile-member-'));
  let cluster: EtcdCluster | undefined;
  let child: TrackedProcess | undefined;
  let member: Awaited<ReturnType<typeof startFakeMember>> | undefined;
  try {
    cluster = await startCluster({ size: 1 });
    member = await startFakeMember();
    member.serve(memberBody(0));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const shebang = readFileSync(path.join(ROOT, 'bin/etcd-monitor.js'), 'utf8').split('\n')[0] ?? '';
    const nodeFlags = shebang.split(/\s+/).filter((a) => a.startsWith('--'));
    child = spawnTracked(
      process.execPath,
      [
        ...nodeFlags,
        '--import',
        'tsx',
        path.join(ROOT, 'src/cli.ts'),
        '--endpoints',
        [...cluster.endpoints, member.url].join(','),
        '--discover-members=false',
        '--metrics-interval',
        '2s',
        '--health-check-interval',
        '1s',
        '--api-host',
        '127.0.0.1',
        '--api-port',
        String(port),
        '--data-dir',
        path.join(dir, 'data'),
        '--log-level',
        'warn',
      ],
      { cwd: ROOT, label: 'exporter' },
    );
    const running = child;
    await waitExporterReady(running, base);
    const etcdName = cluster.members[0]?.name ?? '';
    const phases: PhaseResult[] = [];
    for (const phase of PHASES) {
      log(`phase ${phase}: ${args.seconds} s`);
      const r = await measurePhase(phase, base, running, member, etcdName);
      log(`  ${JSON.stringify(r)}`);
      phases.push(r);
    }
    const cpus = os.cpus();
    const run: Run = {
      label: args.label,
      commit: execFileSync('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD'], {
        encoding: 'utf8',
      }).trim(),
      when: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      machine: `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, node ${process.version}, shared with other work`,
      settings: {
        series: Number(args.series),
        oversizeSeries: Number(args['oversize-series']),
        seconds: Number(args.seconds),
      },
      phases,
    };
    const jsonFile = `${args.out}.json`;
    const runs: Record<string, Run> = existsSync(jsonFile)
      ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, Run>)
      : {};
    runs[run.label] = run;
    await writeFile(jsonFile, JSON.stringify(runs, null, 2) + '\n');
    await writeFile(`${args.out}.md`, renderMarkdown(runs));
    log(`wrote ${jsonFile} and ${args.out}.md`);
  } finally {
    if (child) await terminate(child, 'SIGTERM', 8000);
    member?.server.closeAllConnections();
    if (member) await new Promise((r) => member?.server.close(r));
    await cluster?.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
