import type { MonitorConfig } from '../config/types.js';
import {
  discoverMembers,
  DiscoveryError,
  memberClient,
  type DiscoverOptions,
  type Discovery,
} from '../etcd/discover.js';
import { MemberHttpClient } from '../etcd/http-client.js';
import { loadTlsMaterial } from '../etcd/member-client.js';
import { alarmsInStatusErrors } from '../etcd/normalise.js';
import { parsePromText, sumOf } from '../protocol/prom-text/index.js';
import type { AlarmEntry, MemberStatus } from '../etcd/types.js';
import { describeError } from '../util/errors.js';
import { DISK_P99_LIMIT_MS, runDiskCheck, type DiskCheckResult } from './disk-check.js';
import { benchAuth, BENCH_DEFAULTS } from './options.js';
import { BenchInterruptedError } from './prefix.js';
import type { BenchmarkResult } from './result.js';
import { runBenchmark } from './run.js';
import { DEFAULT_SLO } from './slo.js';
import type { Progress } from './progress.js';

// `etcd-monitor check`: one production-readiness report. Facts are gathered first (status and
// metrics of every member of the member list, alarms from their Status, optional disk check, with
// --with-benchmark a short benchmark), then `recommend` derives the advice from them as a pure
// function. Without --with-benchmark it only reads: Status, MemberList (answered from the member's
// local view in 3.4) and /metrics; alarms come from Status errors because an AlarmList is a raft
// proposal in etcd.

export interface MemberFacts {
  endpoint: string;
  /** From the member list (absent when no seed answered it, or with --discover-members=false). */
  memberId?: string;
  name?: string;
  status?: MemberStatus;
  error?: string;
  quotaBytes?: number;
  walFsyncP99Ms?: number;
}

export interface ReadinessFacts {
  members: MemberFacts[];
  /** The seed whose member list defined the members checked. */
  memberListFrom?: string;
  /** Why no member list was available (then only the configured endpoints are checked). */
  memberListError?: string;
  /** Voting members in the member list (learners excluded). */
  votingMembers?: number;
  learners?: number;
  alarms: AlarmEntry[];
  disk?: DiskCheckResult;
  diskError?: string;
  bench?: BenchmarkResult;
  benchError?: string;
}

export interface Recommendation {
  severity: 'critical' | 'warning' | 'info';
  topic: string;
  message: string;
}

export interface ReadinessReport extends ReadinessFacts {
  ready: boolean;
  recommendations: Recommendation[];
}

/** Upper-bound estimate of a histogram's P99 from cumulative buckets (etcd's own 1 ms × 2ⁿ edges). */
function histogramP99Ms(text: ReturnType<typeof parsePromText>, family: string): number | undefined {
  const buckets = (text.get(family)?.samples ?? [])
    .filter((s) => s.name === `${family}_bucket`)
    .map((s) => ({ le: Number(s.labels['le']), count: s.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const hit = buckets.find((b) => b.count >= total * 0.99);
  return hit ? hit.le * 1000 : undefined;
}

/** Derives the recommendations from gathered facts (pure). */
export function recommend(f: ReadinessFacts): Recommendation[] {
  const out: Recommendation[] = [];
  const up = f.members.filter((m) => m.status);
  for (const m of f.members) {
    if (m.error)
      out.push({
        severity: 'critical',
        topic: 'reachability',
        message: `${m.endpoint} did not answer: ${m.error}`,
      });
  }
  const voting = f.votingMembers ?? up.length;
  if (voting > 0 && voting % 2 === 0) {
    out.push({
      severity: 'warning',
      topic: 'member-count',
      message: `${voting} voting members: an even count tolerates no more failures than ${voting - 1}; run an odd number (3 or 5)`,
    });
  }
  if (voting === 1)
    out.push({
      severity: 'warning',
      topic: 'member-count',
      message: 'a single member has no fault tolerance; run 3 or 5 members',
    });
  const versions = new Set(up.map((m) => m.status!.version));
  if (versions.size > 1)
    out.push({
      severity: 'warning',
      topic: 'version-skew',
      message: `members run different versions (${[...versions].join(', ')}); finish the rolling upgrade`,
    });
  const leaders = new Set(up.map((m) => m.status!.leaderId).filter((l) => l !== '0'));
  if (up.length > 0 && leaders.size === 0)
    out.push({ severity: 'critical', topic: 'leader', message: 'no member reports a leader' });
  if (leaders.size > 1)
    out.push({
      severity: 'critical',
      topic: 'leader',
      message: `members disagree on the leader (${[...leaders].join(', ')})`,
    });
  for (const m of up) {
    const s = m.status!;
    const frag = s.dbSizeBytes > 0 ? 1 - s.dbSizeInUseBytes / s.dbSizeBytes : 0;
    if (frag > 0.5 && s.dbSizeBytes > 64 * 1024 * 1024) {
      out.push({
        severity: 'warning',
        topic: 'fragmentation',
        message: `${m.endpoint}: ${(frag * 100).toFixed(0)}% of the ${mb(s.dbSizeBytes)} DB is free pages; defragment (one member at a time, leader last)`,
      });
    }
    if (m.quotaBytes && s.dbSizeBytes / m.quotaBytes > 0.8) {
      out.push({
        severity: 'critical',
        topic: 'quota',
        message: `${m.endpoint}: DB ${mb(s.dbSizeBytes)} is ${((s.dbSizeBytes / m.quotaBytes) * 100).toFixed(0)}% of the ${mb(m.quotaBytes)} quota; compact and defragment, or raise --quota-backend-bytes (max 8 GiB recommended)`,
      });
    }
    if (m.quotaBytes && m.quotaBytes <= 2 * 1024 * 1024 * 1024 && s.dbSizeBytes / m.quotaBytes > 0.5) {
      out.push({
        severity: 'info',
        topic: 'quota',
        message: `${m.endpoint}: quota is the 2 GiB default; consider raising --quota-backend-bytes (up to 8 GiB)`,
      });
    }
    if (m.walFsyncP99Ms !== undefined && m.walFsyncP99Ms > DISK_P99_LIMIT_MS) {
      out.push({
        severity: 'warning',
        topic: 'disk',
        message: `${m.endpoint}: live WAL fsync P99 ≤${m.walFsyncP99Ms} ms bucket exceeds 10 ms; use a faster (SSD) disk dedicated to etcd`,
      });
    }
  }
  if (f.learners)
    out.push({
      severity: 'info',
      topic: 'learners',
      message: `${f.learners} learner(s): promote them once caught up`,
    });
  for (const a of f.alarms) {
    out.push({
      severity: 'critical',
      topic: 'alarm',
      message:
        a.alarm === 'NOSPACE'
          ? `NOSPACE alarm on member ${a.memberId}: the cluster is read-only; compact, defragment, then disarm`
          : `${a.alarm} alarm on member ${a.memberId}: data inconsistency, investigate before anything else`,
    });
  }
  if (f.disk && !f.disk.passed) {
    out.push({
      severity: 'critical',
      topic: 'disk',
      message: `fdatasync P99 ${f.disk.fdatasync.p99Ms.toFixed(2)} ms in ${f.disk.dir} is above 10 ms; move etcd's data dir to a faster disk`,
    });
  }
  if (f.diskError)
    out.push({ severity: 'warning', topic: 'disk', message: `disk check failed: ${f.diskError}` });
  if (!f.disk && !f.diskError)
    out.push({
      severity: 'info',
      topic: 'disk',
      message: 'no disk check run; pass --disk-dir <etcd data dir> on an etcd host',
    });
  if (f.bench) {
    if (f.bench.failed > 0)
      out.push({
        severity: 'critical',
        topic: 'benchmark',
        message: `${f.bench.failed} of ${f.bench.total} benchmark writes failed (${Object.keys(f.bench.errorsByCode).join(', ')})`,
      });
    if (f.bench.latency.p99Ms >= DEFAULT_SLO.p99Ms)
      out.push({
        severity: 'warning',
        topic: 'benchmark',
        message: `write P99 ${f.bench.latency.p99Ms.toFixed(1)} ms is not below ${DEFAULT_SLO.p99Ms} ms under ${f.bench.conditions.clients} clients`,
      });
  }
  if (f.benchError)
    out.push({ severity: 'warning', topic: 'benchmark', message: `benchmark failed: ${f.benchError}` });
  return out;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Status (then /metrics) of one member through the first of its URLs that answers. */
async function memberFacts(
  urls: readonly string[],
  base: Omit<MemberFacts, 'endpoint'>,
  o: DiscoverOptions,
  http: MemberHttpClient,
): Promise<MemberFacts> {
  if (urls.length === 0) {
    return {
      endpoint: `member ${base.memberId ?? '?'}`,
      ...base,
      error: 'in the member list without a client URL (added but never started)',
    };
  }
  let last: MemberFacts | undefined;
  for (const url of urls) {
    const m: MemberFacts = { endpoint: url, ...base };
    const client = memberClient(url, o);
    try {
      m.status = await client.status();
    } catch (err) {
      m.error = describeError(err);
      last ??= m;
      continue;
    } finally {
      client.close();
    }
    try {
      const text = parsePromText(await http.fetchMetricsText(url));
      m.quotaBytes = sumOf(text, 'etcd_server_quota_backend_bytes');
      m.walFsyncP99Ms = histogramP99Ms(text, 'etcd_disk_wal_fsync_duration_seconds');
    } catch {
      // /metrics may live on a separate --listen-metrics-urls; the gRPC facts still stand.
    }
    return m;
  }
  return last!;
}

/**
 * Gathers the facts for the first configured cluster and builds the report. The members are those of
 * the member list (any answering seed's), each asked through its own client URLs, so a member missing
 * from --endpoints that is down makes the report NOT READY.
 */
export async function runReadinessCheck(o: {
  config: MonitorConfig;
  diskDir?: string;
  /** Calls of the write benchmark; 0 (the default of `check`) keeps the check read-only. */
  benchOps: number;
  runId?: string;
  signal?: AbortSignal;
  /** The CLI's progress line on a TTY (progress.ts): each phase bumps its counters. */
  progress?: Progress;
}): Promise<ReadinessReport> {
  const progress = o.progress;
  const cluster = o.config.clusters[0]!;
  const tls = loadTlsMaterial(cluster.tls);
  const { auth } = benchAuth(cluster);
  const timeouts = { dialTimeoutMs: o.config.dialTimeoutMs, requestTimeoutMs: o.config.requestTimeoutMs };
  const discover: DiscoverOptions = { ...(tls ? { tls } : {}), ...(auth ? { auth } : {}), ...timeouts };
  const http = new MemberHttpClient(tls, timeouts);
  const facts: ReadinessFacts = { members: [], alarms: [] };
  try {
    let list: Discovery | undefined;
    try {
      list = await discoverMembers(cluster.endpoints, discover);
      facts.memberListFrom = list.answeredBy;
      facts.learners = list.members.filter((m) => m.isLearner).length;
      facts.votingMembers = list.members.length - facts.learners;
    } catch (err) {
      if (!(err instanceof DiscoveryError)) throw err;
      facts.memberListError = err.message;
    }
    const asked =
      cluster.discoverMembers && list
        ? list.members.map((m) => memberFacts(m.clientUrls, { memberId: m.id, name: m.name }, discover, http))
        : cluster.endpoints.map((e) => memberFacts([e], {}, discover, http));
    progress?.phase('members', 'members', { expected: asked.length });
    facts.members = await Promise.all(
      asked.map((p) => p.finally(() => progress && (progress.counters.done += 1))),
    );
    // Every member reports the whole cluster's alarm store in its Status; one entry per alarm.
    const alarms = new Map<string, AlarmEntry>();
    for (const m of facts.members)
      for (const a of alarmsInStatusErrors(m.status?.errors ?? [])) alarms.set(`${a.memberId}/${a.alarm}`, a);
    facts.alarms = [...alarms.values()];
  } finally {
    await http.close();
  }
  if (o.diskDir) {
    try {
      progress?.phase('fdatasync', 'syncs');
      facts.disk = runDiskCheck({
        dir: o.diskDir,
        ...(progress
          ? {
              onProgress: (syncs: number, expected: number, ms: number) => {
                Object.assign(progress.counters, { done: syncs, expected, phaseElapsedMs: ms });
                progress.draw();
              },
            }
          : {}),
      });
    } catch (err) {
      facts.diskError = describeError(err);
    }
  }
  if (o.benchOps > 0 && facts.members.some((m) => m.status)) {
    progress?.phase('write benchmark', 'ops', { expected: o.benchOps });
    try {
      facts.bench = await runBenchmark({
        ...(progress
          ? {
              onProgress: (n: number, _e: number | undefined, ms: number) => {
                Object.assign(progress.counters, { done: n, phaseElapsedMs: ms });
              },
            }
          : {}),
        endpoints: cluster.endpoints,
        tls: cluster.tls,
        discoverMembers: cluster.discoverMembers,
        ...(auth ? { auth } : {}),
        workload: 'write',
        ops: o.benchOps,
        clients: 16,
        conns: Math.min(4, 16),
        keySize: BENCH_DEFAULTS.keySize,
        valSize: BENCH_DEFAULTS.valSize,
        keySpace: o.benchOps,
        sequentialKeys: true,
        consistency: 'l',
        // Its own /etcd-monitor/bench/<run-id>/, deleted afterwards; check never compacts.
        ...(o.runId ? { runId: o.runId } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        client: 'lean',
        readRatio: BENCH_DEFAULTS.readRatio,
        slo: DEFAULT_SLO,
        dialTimeoutMs: o.config.dialTimeoutMs,
        requestTimeoutMs: Math.max(o.config.requestTimeoutMs, 30_000),
      });
    } catch (err) {
      if (err instanceof BenchInterruptedError) throw err;
      facts.benchError = describeError(err);
    }
  }
  const recommendations = recommend(facts);
  return { ...facts, ready: !recommendations.some((r) => r.severity === 'critical'), recommendations };
}

/** Text form of the report. */
export function formatReadiness(r: ReadinessReport): string {
  const lines = ['=== Production Readiness ===', 'Members:'];
  if (r.memberListFrom) lines.push(`  (member list from ${r.memberListFrom})`);
  if (r.memberListError) lines.push(`  (no member list: ${r.memberListError}; checking --endpoints only)`);
  for (const m of r.members) {
    const who = m.name ? `${m.endpoint} (${m.name})` : m.endpoint;
    if (!m.status) {
      lines.push(`  ${who}: UNREACHABLE (${m.error})`);
      continue;
    }
    const s = m.status;
    lines.push(
      `  ${who}: id ${s.memberId} v${s.version} ${s.leaderId === s.memberId ? 'leader' : s.isLearner ? 'learner' : 'follower'} term ${s.raftTerm} db ${mb(s.dbSizeBytes)} (in use ${mb(s.dbSizeInUseBytes)})${m.quotaBytes ? ` quota ${mb(m.quotaBytes)}` : ''}${m.walFsyncP99Ms !== undefined ? ` wal-fsync-p99 ≤${m.walFsyncP99Ms} ms` : ''}`,
    );
  }
  lines.push(
    `Alarms: ${r.alarms.length === 0 ? 'none' : r.alarms.map((a) => `${a.alarm}@${a.memberId}`).join(', ')}`,
  );
  if (r.disk)
    lines.push(
      `Disk: fdatasync P50 ${r.disk.fdatasync.p50Ms.toFixed(2)} ms, P99 ${r.disk.fdatasync.p99Ms.toFixed(2)} ms, max ${r.disk.fdatasync.maxMs.toFixed(2)} ms in ${r.disk.dir} — ${r.disk.passed ? 'PASS' : 'FAIL'}`,
    );
  if (r.bench)
    lines.push(
      `Benchmark: ${r.bench.total} writes, ${r.bench.throughput.toFixed(0)} ops/s, P99 ${r.bench.latency.p99Ms.toFixed(2)} ms, ${r.bench.failed} failed (${r.bench.conditions.clients} clients, ${r.bench.conditions.valSize}-byte values, keys under ${r.bench.cleanup.prefix} deleted, no compaction)`,
    );
  else lines.push('Benchmark: not run (read-only; --with-benchmark runs a short write benchmark)');
  lines.push('', 'Recommendations:');
  if (r.recommendations.length === 0) lines.push('  none');
  for (const rec of r.recommendations) lines.push(`  [${rec.severity}] ${rec.topic}: ${rec.message}`);
  lines.push('', r.ready ? 'READY (no critical findings)' : 'NOT READY (critical findings above)', '');
  return lines.join('\n');
}
