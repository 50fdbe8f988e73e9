/**
 * One run of the in-process pipeline benchmark (perf/exporter-pipeline.ts starts one child per
 * configuration so each one's RSS and heap are its own). Builds the real Monitor of `<root>/src` for
 * `--clusters` 3-member clusters and replaces only each ClusterCollector's network calls: a round's
 * answers come from the real captures of test/fixtures/etcd-3.4 and etcd-3.5 (clusters alternate
 * versions; leader and follower bodies cycle through the four captures of each role, so counters and
 * histograms advance between rounds), each /metrics body decoded from bytes to a fresh string and parsed
 * by the exporter's parser as undici's body would be. Everything after I/O runs as in the exporter:
 * snapshot, transition logging (silent logger), derive, probe series, re-exposure render and merge, the
 * derived registry's render, and per metrics interval one Prometheus scrape of /metrics (runtime
 * registry render, gzip of every block). Excluded: sockets, TLS, gRPC/protobuf decoding, HTTP framing.
 * Prints one JSON line (PipelineRun) on stdout.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { GCProfiler } from 'node:v8';
import type { MemberStatus } from '../src/etcd/types.js';

const { values: args } = parseArgs({
  options: {
    root: { type: 'string' },
    clusters: { type: 'string', default: '10' },
    reexpose: { type: 'string', default: 'on' },
    intervals: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '3' },
    'spread-ms': { type: 'string', default: '1000' },
    fixtures: { type: 'string' },
  },
});
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const FIXTURES = path.resolve(args.fixtures ?? path.join(import.meta.dirname, '..', 'test', 'fixtures'));
const CLUSTERS = Number(args.clusters);
const INTERVALS = Number(args.intervals);
const WARMUP = Number(args.warmup);
const SPREAD_MS = Number(args['spread-ms']);
/** Default --metrics-interval 10 s and --health-check-interval 30 s: one health round every third interval. */
const HEALTH_EVERY = 3;

const src = (p: string) => import(path.join(ROOT, 'src', p));
const { Monitor } = await src('monitor/monitor.ts');
const { resolveConfig } = await src('config/resolve.ts');
const { createLogger } = await src('util/logger.ts');
const { normaliseStatus } = await src('etcd/normalise.ts');
const { parsePromText } = await src('protocol/prom-text/index.ts');
const { metricsBody, prepareOwn } = await src('expose/exposition-cache.ts');

type Version = '3.4' | '3.5';
interface Captures {
  readonly leader: readonly Buffer[];
  readonly follower: readonly Buffer[];
  readonly leaderStatus: MemberStatus;
  readonly followerStatus: MemberStatus;
}
/** The private parts of the real Monitor and ClusterCollector this benchmark drives or fills. */
interface CollectorInternals {
  members: Map<string, Record<string, unknown>>;
  lastResultAt: number;
  collectMetricsRound(): Promise<void>;
  collectHealthRound(): Promise<void>;
  collectHashRound(): Promise<void>;
}
interface MonitorInternals {
  readonly clusters: Map<string, { readonly collector: CollectorInternals }>;
  round(name: string, kind: 'metrics' | 'health'): Promise<void>;
  started: boolean;
}
const VERSIONS: readonly Version[] = ['3.4', '3.5'];
const read = (version: Version, file: string) => readFileSync(path.join(FIXTURES, `etcd-${version}`, file));
/** Four captures per role and version, in capture order, as bytes (what the socket delivers). */
const bodies = Object.fromEntries(
  VERSIONS.map((v) => [
    v,
    {
      leader: ['leader-metrics.txt', ...[0, 1, 2].map((i) => `load/leader-metrics-${i}.txt`)].map((f) =>
        read(v, f),
      ),
      follower: ['follower-metrics.txt', ...[0, 1, 2].map((i) => `load/follower-metrics-${i}.txt`)].map((f) =>
        read(v, f),
      ),
      leaderStatus: normaliseStatus(JSON.parse(read(v, 'status-leader.json').toString())),
      followerStatus: normaliseStatus(JSON.parse(read(v, 'status-follower.json').toString())),
    },
  ]),
) as unknown as Record<Version, Captures>;

const gc = (globalThis as { gc?: () => void }).gc;
const settle = () => {
  gc?.();
  gc?.();
};
settle();
const idle = process.memoryUsage();

const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-pipeline-'));
const endpointOf = (c: number, m: number) => `http://127.${1 + (c >> 8)}.${c & 255}.${10 + m}:2379`;
const names = Array.from({ length: CLUSTERS }, (_, c) => `sim-${String(c).padStart(4, '0')}`);
const yaml = [
  'clusters:',
  ...names.flatMap((name, c) => [
    `  - name: ${name}`,
    `    endpoints: [${[0, 1, 2].map((m) => endpointOf(c, m)).join(', ')}]`,
    '    discover_members: false',
  ]),
  `reexpose: ${args.reexpose === 'on' ? 'true' : 'false'}`,
  '',
].join('\n');
const configFile = path.join(dir, 'exporter.yaml');
writeFileSync(configFile, yaml);
const config = resolveConfig({ flags: { config: configFile }, env: {} });
rmSync(dir, { recursive: true, force: true });
// The exporter's default level (info), written nowhere: steady rounds log nothing at info.
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const monitor = new Monitor(config, createLogger('info', 'json', discard));

interface Fake {
  round: number;
}
const fake: Fake = { round: 0 };
const ok = (value: unknown, at: number) => ({ ok: true, value, at, durationSeconds: 0.004 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The answers of one cluster's members, written where ClusterCollector.run writes them. */
function answer(collector: CollectorInternals, c: number, kind: 'metrics' | 'health'): void {
  const version = VERSIONS[c % 2] as Version;
  const v = bodies[version];
  const ids = [0, 1, 2].map((m) => (0x1000_0000 + c * 4 + m).toString(16));
  const list = ids.map((id, m) => ({
    id,
    name: `${names[c]}-${m}`,
    peerUrls: [`http://127.${1 + (c >> 8)}.${c & 255}.${10 + m}:2380`],
    clientUrls: [endpointOf(c, m)],
    isLearner: false,
  }));
  const at = Date.now();
  let m = 0;
  for (const member of collector.members.values()) {
    const leader = m === 0;
    const base = leader ? v.leaderStatus : v.followerStatus;
    const step = fake.round * 150;
    const status = {
      ...base,
      memberId: ids[m],
      leaderId: ids[0],
      raftIndex: base.raftIndex + step,
      raftAppliedIndex: base.raftAppliedIndex + step,
      revision: base.revision + fake.round * 100,
    };
    member.status = ok(status, at);
    if (kind === 'metrics') {
      const captures = leader ? v.leader : v.follower;
      const bytes = captures[(fake.round + c + m) % captures.length] as Buffer;
      member.metrics = ok(parsePromText(bytes.toString('utf8')), at);
      if (m === 0) member.members = ok(list, at);
    } else {
      member.members = ok(list, at);
      if (m === 0) member.alarms = ok([], at);
      member.health = ok({ healthy: true, reason: '' }, at);
      member.probe = ok({ writeSeconds: 0.0021 + m / 1e4, readSeconds: 0.0011 }, at);
    }
    m++;
  }
  collector.lastResultAt = at;
}

const internals = monitor as unknown as MonitorInternals;
const runtimes = [...internals.clusters.values()];
runtimes.forEach((rt, c) => {
  const collector = rt.collector;
  // I/O completion spread over SPREAD_MS, as members answer at different times; the answers themselves
  // are recorded synchronously, like the collector's run() does when a call settles.
  collector.collectMetricsRound = async () => {
    await sleep(Math.random() * SPREAD_MS);
    answer(collector, c, 'metrics');
  };
  collector.collectHealthRound = async () => {
    await sleep(Math.random() * SPREAD_MS);
    answer(collector, c, 'health');
  };
  collector.collectHashRound = async () => {};
});

/** One metrics interval: health rounds every third one, every cluster's metrics round, then one scrape. */
async function interval(i: number): Promise<number> {
  fake.round = i;
  const rounds: Promise<void>[] = [];
  for (const name of names) {
    if (i % HEALTH_EVERY === 0) rounds.push(internals.round(name, 'health'));
    rounds.push(internals.round(name, 'metrics'));
  }
  await Promise.all(rounds);
  // What the scrape itself waits for (wall time): merge and render when they are made on read, and gzip.
  const scrapeStart = performance.now();
  const runtime = prepareOwn(await monitor.metrics.runtime.metrics());
  const body = await metricsBody(runtime, await monitor.exposition(), true);
  scrapeMs.push(performance.now() - scrapeStart);
  const plain = await metricsBody(runtime, await monitor.exposition(), false);
  void body;
  lastReexposed = (await monitor.exposition())[0].plain;
  return plain.length;
}
let lastReexposed: Buffer = Buffer.alloc(0);
const scrapeMs: number[] = [];

internals.started = true;
const warmStart = process.cpuUsage();
for (let i = 0; i < WARMUP; i++) await interval(i);
const warmCpu = process.cpuUsage(warmStart);
settle();

const gcProfiler = new GCProfiler();
gcProfiler.start();
const heapBefore = process.memoryUsage().heapUsed;
const cpuStart = process.cpuUsage();
const wallStart = performance.now();
let bytes = 0;
for (let i = WARMUP; i < WARMUP + INTERVALS; i++) bytes = await interval(i);
const cpu = process.cpuUsage(cpuStart);
const wallMs = performance.now() - wallStart;
const heapAfter = process.memoryUsage().heapUsed;
const gcStats = gcProfiler.stop();
// Bytes the collector freed plus the heap's net growth ≈ bytes allocated during the measured intervals.
let freed = 0;
let gcMs = 0;
for (const s of gcStats?.statistics ?? []) {
  freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  gcMs += s.cost / 1000;
}
const allocated = freed + (heapAfter - heapBefore);
const peakRss = process.resourceUsage().maxRSS * 1024;
settle();
const end = process.memoryUsage();
const members = CLUSTERS * 3;
const memberRounds = members * INTERVALS;
const result = {
  clusters: CLUSTERS,
  members,
  reexpose: args.reexpose === 'on',
  intervals: INTERVALS,
  warmup: WARMUP,
  spreadMs: SPREAD_MS,
  cpuMsPerMemberRound: (cpu.user + cpu.system) / 1000 / memberRounds,
  userMsPerMemberRound: cpu.user / 1000 / memberRounds,
  warmupCpuMsPerMemberRound: (warmCpu.user + warmCpu.system) / 1000 / (members * WARMUP),
  allocatedKiBPerMemberRound: allocated / 1024 / memberRounds,
  gcMsPerMemberRound: gcMs / memberRounds,
  wallMsPerInterval: wallMs / INTERVALS,
  exposition: bytes,
  /** Median wall time of the measured intervals' gzip scrape (noisy on a shared machine). */
  scrapeMsMedian: [...scrapeMs.slice(WARMUP)].sort((x, y) => x - y)[
    Math.floor((scrapeMs.length - WARMUP) / 2)
  ],
  /** Same inputs give the same re-exposed block: before and after a change must print the same hash. */
  reexposedSha256: createHash('sha256').update(lastReexposed).digest('hex').slice(0, 16),
  idleRssMiB: idle.rss / 2 ** 20,
  rssMiB: end.rss / 2 ** 20,
  peakRssMiB: peakRss / 2 ** 20,
  rssKiBPerMember: (end.rss - idle.rss) / 1024 / members,
  heapKiBPerMember: (end.heapUsed - idle.heapUsed) / 1024 / members,
  externalKiBPerMember:
    (end.external + end.arrayBuffers - idle.external - idle.arrayBuffers) / 1024 / members,
};
await monitor.stop();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
