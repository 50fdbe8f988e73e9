// The network-fault suite's harness (test/exporter/fault-suite-*.test.ts): a real etcd 3.4 cluster
// behind loopback peer fault proxies, the real exporter collecting every second, and a real Prometheus
// evaluating the shipped rules with every `for:` cut to 5 s. Each scenario cuts or slows peer links,
// waits for etcd's own view (Status of every member through its gateway) to settle, and measures how
// long the exporter's derived series take to agree with it; then heals and waits for everything to clear.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { fetch } from 'undici';
import type { RenderedGroup } from '../../src/alerts/rules/types.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, findSample, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { PeerFaultNet } from './fault-proxy.js';
import { waitFor } from '../../harness/processes.js';
import { startPrometheus, type PromAlert, type RunningPrometheus } from './prometheus.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const ROUND_MS = 1000;
/** "Within 3 rounds", plus slack for a shared 2-core machine (load averages above 10 were seen in CI runs). */
export const CORRECT_WITHIN_MS = 3 * ROUND_MS + 5_000;
const CLUSTER = 'fault';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shipped rules with every `for` cut to 5 s (as test/exporter/discovery.test.ts does). */
export function rulesWithShortFor(): string {
  const doc = yaml.load(readFileSync(join(ROOT, 'alert-rules/etcd-monitor.rules.yml'), 'utf8')) as {
    groups: RenderedGroup[];
  };
  for (const group of doc.groups) {
    for (const rule of group.rules as { for?: string }[]) if (rule.for !== undefined) rule.for = '5s';
  }
  return yaml.dump(doc, { lineWidth: -1 });
}

/** One member's Status as etcd's gateway prints it (what `etcdctl endpoint status` shows). */
interface MemberTruth {
  index: number;
  id?: string;
  leaderId?: string;
  term?: number;
}

/** etcd's own view of the cluster, from every member's Status, reduced to what the exporter derives. */
export interface Truth {
  hasLeader: boolean;
  /** Index of the leader a majority follows in its term. */
  leader?: number;
  leadersClaimed: number;
  staleLeader: boolean;
  quorumAvailable: boolean;
  failureTolerance: number;
  /** Members whose Status names the majority's leader in its term (the leader included). */
  followers: number[];
  /** Members whose Status answered. */
  answered: number[];
  /** Followers not cut off from the leader by the scenario's fault. */
  available: number[];
  text: string;
}

/** The exporter's derived series of the cluster, read from one /metrics. */
export interface Verdict {
  hasLeader?: number;
  leadersClaimed?: number;
  splitBrain?: number;
  staleLeader?: number;
  quorumAvailable?: number;
  failureTolerance?: number;
  partition: string[];
  states: string[];
  /** etcd_monitor_member_up of each member. */
  up: (number | undefined)[];
  text: string;
}

export interface Scenario {
  name: string;
  /** Applies the fault; returns the members cut off from the majority by it (not counted as available). */
  apply(h: FaultHarness, leader: number): Promise<number[]>;
  /** A partition: some partition_suspected reason must show. */
  partition: boolean;
  /** Alerts that must fire (with `for:` 5 s). */
  expectAlerts: string[];
  /**
   * etcd's own view shows the fault (default: the leader is not cut off and no cut-off member follows it).
   * A one-way loss follower → leader never shows in Status: the leader's etcd_network_active_peers does.
   */
  settled?(h: FaultHarness, truth: Truth, leader: number, cutOff: readonly number[]): Promise<boolean>;
}

export interface ResultRow {
  suite: string;
  scenario: string;
  truth: string;
  exporter: string;
  /** From the fault until etcd's own view settled. */
  settleS: number;
  /** From etcd's view settling until the exporter agreed (and kept agreeing). */
  correctS: number;
  /** Critical alerts that fired during the fault. */
  critical: string;
  /** Warning and info alerts that fired during the fault (the watchdog left out). */
  otherAlerts: string;
  /** From healing until etcd, the exporter and the alerts were all clear again. */
  clearS: number;
}

const PARTITION_REASONS = [
  'leader_disagreement',
  'term_disagreement',
  'member_without_leader',
  'unreachable_but_peers_connected',
  'peer_stream_down',
];

export class FaultHarness {
  readonly rows: ResultRow[] = [];
  private constructor(
    readonly suite: string,
    readonly size: number,
    readonly net: PeerFaultNet,
    readonly cluster: EtcdCluster,
    readonly exporter: ExporterProcess,
    readonly prom: RunningPrometheus,
  ) {}

  static async start(suite: string, size: number): Promise<FaultHarness> {
    const net = new PeerFaultNet();
    let cluster: EtcdCluster | undefined;
    let exporter: ExporterProcess | undefined;
    try {
      cluster = await startCluster({ size, advertisePeerUrl: net.advertise });
      await net.learnIds(
        cluster.endpoints[0] as string,
        cluster.members.map((m) => m.name),
      );
      exporter = await startExporter({
        args: ['--endpoints', cluster.endpoints.join(','), '--cluster-name', CLUSTER, ...FAST_INTERVALS],
      });
      const prom = await startPrometheus({
        scrapeTargets: [`127.0.0.1:${exporter.port}`],
        // 2 s: a 1 s scrape timeout on this busy machine lost scrapes and fired EtcdMonitorAbsent.
        interval: '2s',
        ruleFiles: { 'etcd-monitor.rules.yml': rulesWithShortFor() },
      });
      const h = new FaultHarness(suite, size, net, cluster, exporter, prom);
      await h.waitClear(60_000);
      // Rules evaluated before Prometheus' first scrape leave EtcdMonitorAbsent pending; it must be gone
      // before the first fault, or it fires during it (seen once on the 5-member cluster).
      await waitFor(
        async () =>
          (await prom.query('etcd_monitor_build_info')).length > 0 &&
          !(await prom.alerts()).some((a) => a.labels.alertname === 'EtcdMonitorAbsent'),
        {
          what: 'Prometheus to scrape the exporter with EtcdMonitorAbsent inactive',
          timeoutMs: 30_000,
          intervalMs: 500,
        },
      );
      return h;
    } catch (err) {
      await exporter?.stop();
      await cluster?.destroy();
      await net.close();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.prom.stop();
    await this.exporter.stop();
    await this.cluster.destroy();
    await this.net.close();
  }

  get quorumSize(): number {
    return Math.floor(this.size / 2) + 1;
  }

  name(index: number): string {
    return `m${index}`;
  }

  /** Every member's Status through its own client URL (not behind the peer proxies). */
  async statuses(): Promise<MemberTruth[]> {
    return Promise.all(
      this.cluster.members.map(async (m, index) => {
        try {
          const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, {
            method: 'POST',
            body: '{}',
            signal: AbortSignal.timeout(2_000),
          });
          const body = (await res.json()) as {
            header?: { member_id?: string };
            leader?: string;
            raftTerm?: string;
          };
          return {
            index,
            id: body.header?.member_id,
            leaderId: body.leader,
            term: Number(body.raftTerm ?? 0),
          };
        } catch {
          return { index };
        }
      }),
    );
  }

  /** etcd's view: the leader a majority names in its own term, and who follows it. */
  async truth(cutOff: readonly number[]): Promise<Truth> {
    const st = await this.statuses();
    const byId = new Map(st.map((s) => [s.id, s]));
    const named = new Set(st.map((s) => s.leaderId).filter((id): id is string => !!id && id !== '0'));
    let leader: MemberTruth | undefined;
    let followers: MemberTruth[] = [];
    for (const id of named) {
      const self = byId.get(id);
      if (!self || self.leaderId !== id) continue;
      const f = st.filter((s) => s.leaderId === id && s.term === self.term);
      if (f.length >= this.quorumSize) [leader, followers] = [self, f];
    }
    const staleLeader =
      leader !== undefined &&
      st.some(
        (s) =>
          s.id !== undefined &&
          s.id !== leader?.id &&
          s.leaderId === s.id &&
          (s.term ?? 0) < (leader?.term ?? 0),
      );
    const available = followers.map((f) => f.index).filter((i) => !cutOff.includes(i));
    const failureTolerance = leader ? Math.max(0, available.length - this.quorumSize) : 0;
    const views = st
      .map((s) => {
        const l = s.leaderId && s.leaderId !== '0' ? byId.get(s.leaderId)?.index : undefined;
        return `${this.name(s.index)}:${s.id === undefined ? '?' : l === undefined ? '-' : this.name(l)}@${s.term}`;
      })
      .join(' ');
    return {
      hasLeader: leader !== undefined,
      ...(leader ? { leader: leader.index } : {}),
      leadersClaimed: named.size,
      staleLeader,
      quorumAvailable: leader !== undefined,
      failureTolerance,
      followers: followers.map((f) => f.index),
      answered: st.filter((x) => x.id !== undefined).map((x) => x.index),
      available,
      text:
        `${leader ? `${this.name(leader.index)} leads` : 'no leader'}, tolerance ${failureTolerance} [${views}]` +
        (cutOff.length > 0 ? `, cut off: ${cutOff.map((i) => this.name(i)).join('+')}` : ''),
    };
  }

  async verdict(): Promise<Verdict> {
    const text = await this.exporter.metricsText();
    const c = (name: string, labels: Record<string, string> = {}) =>
      findSample(text, `etcd_monitor_cluster_${name}`, { cluster: CLUSTER, ...labels });
    const partition = PARTITION_REASONS.filter((reason) => c('partition_suspected', { reason }) === 1);
    const up = this.cluster.members.map((m) =>
      findSample(text, 'etcd_monitor_member_up', { member: m.name }),
    );
    const states = this.cluster.members.map((m) => {
      for (const state of ['healthy', 'slow', 'unreachable', 'unhealthy', 'down'])
        if (findSample(text, 'etcd_monitor_member_health_state', { member: m.name, state }) === 1)
          return state;
      return '?';
    });
    const v = {
      hasLeader: c('has_leader'),
      leadersClaimed: c('leaders_claimed'),
      splitBrain: c('split_brain'),
      staleLeader: c('stale_leader'),
      quorumAvailable: c('quorum_available'),
      failureTolerance: c('failure_tolerance'),
      partition,
      states,
      up,
    };
    return {
      ...v,
      text:
        `has_leader ${v.hasLeader}, quorum ${v.quorumAvailable}, tolerance ${v.failureTolerance}, ` +
        `split_brain ${v.splitBrain}, stale ${v.staleLeader}, partition ${partition.join('+') || 'none'}, ` +
        `[${states.map((s, i) => `${this.name(i)}:${s}`).join(' ')}]`,
    };
  }

  /** Where the exporter disagrees with etcd's view (empty: it agrees). */
  mismatches(t: Truth, v: Verdict, partition: boolean): string[] {
    const out: string[] = [];
    const eq = (what: string, got: number | undefined, want: number) => {
      if (got !== want) out.push(`${what} ${got} != ${want}`);
    };
    eq('has_leader', v.hasLeader, t.hasLeader ? 1 : 0);
    eq('leaders_claimed', v.leadersClaimed, t.leadersClaimed);
    eq('split_brain', v.splitBrain, 0);
    eq('stale_leader', v.staleLeader, t.staleLeader ? 1 : 0);
    eq('quorum_available', v.quorumAvailable, t.quorumAvailable ? 1 : 0);
    eq('failure_tolerance', v.failureTolerance, t.failureTolerance);
    if (partition !== v.partition.length > 0) out.push(`partition ${v.partition.join('+') || 'none'}`);
    // Every member's client URL stays reachable (only peer links are cut): up must stay 1.
    v.up.forEach((u, i) => {
      if (t.answered.includes(i) && u !== 1) out.push(`${this.name(i)} up ${u}`);
    });
    v.states.forEach((state, i) => {
      const up = state === 'healthy' || state === 'slow' || state === 'unreachable';
      if (up !== t.available.includes(i)) out.push(`${this.name(i)} ${state}`);
    });
    return out;
  }

  async criticalFiring(): Promise<string[]> {
    return (await this.prom.alerts())
      .filter((a: PromAlert) => a.state === 'firing' && a.labels.severity === 'critical')
      .map((a) => a.labels.alertname ?? '?');
  }

  /** Waits until etcd, the exporter and Prometheus all show a healthy cluster with no critical alert. */
  async waitClear(timeoutMs: number): Promise<void> {
    await this.cluster.waitHealthy(timeoutMs).catch(async (err: unknown) => {
      const t = await this.truth([]);
      const logs = this.cluster.members.map(
        (m) => `--- ${m.name} ---\n${m.logs().split('\n').slice(-12).join('\n')}`,
      );
      throw new Error(`${String(err)}\netcd: ${t.text}\n${logs.join('\n')}`);
    });
    let last = '';
    await waitFor(
      async () => {
        const t = await this.truth([]);
        const v = await this.verdict();
        const crit = await this.criticalFiring();
        const bad = [...this.mismatches(t, v, false), ...v.states.filter((s) => s !== 'healthy'), ...crit];
        last = `truth: ${t.text}; exporter: ${v.text}; critical: ${crit.join(',')}; ${bad.join(', ')}`;
        return t.available.length === this.size && bad.length === 0;
      },
      { what: 'a clear cluster', timeoutMs, intervalMs: 500 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${last}`);
    });
  }

  /**
   * Runs one scenario: fault, etcd's view settles, the exporter agrees within CORRECT_WITHIN_MS and keeps
   * agreeing, the expected alerts fire and no other critical one, heal, everything clears.
   */
  async run(s: Scenario): Promise<ResultRow> {
    const leader = await this.cluster.leaderIndex();
    const faultAt = Date.now();
    const cutOff = await s.apply(this, leader);
    const log: string[] = [];
    const fail = (msg: string) =>
      new Error(`${this.suite} / ${s.name}: ${msg}\n${log.slice(-30).join('\n')}`);
    try {
      // One loop samples etcd's view and the exporter's every 250 ms. etcd's view has settled once it shows
      // the fault and has not changed for 1 s; it took its final form at `truthSince`. The exporter is
      // correct from the start of its last unbroken run of agreement (each sample compared with a fresh
      // truth), once that run lasted 2 s; seconds to correct = that start - truthSince (0 if it was first).
      let truth = await this.truth(cutOff);
      let truthSince = Date.now();
      let agreeSince: number | undefined;
      let verdict = await this.verdict();
      let correctS: number | undefined;
      for (;;) {
        const t = await this.truth(cutOff);
        const shows = s.settled
          ? await s.settled(this, t, leader, cutOff)
          : t.leader !== undefined &&
            !cutOff.includes(t.leader) &&
            cutOff.every((i) => !t.followers.includes(i));
        verdict = await this.verdict();
        const now = Date.now();
        if (t.text !== truth.text || !shows || !t.hasLeader) truthSince = now;
        truth = t;
        const bad = this.mismatches(t, verdict, s.partition);
        agreeSince = bad.length > 0 ? undefined : (agreeSince ?? now);
        log.push(
          `${((now - faultAt) / 1000).toFixed(1)}s truth ${t.text}${shows ? '' : ' (fault not shown yet)'} | exporter ${verdict.text} | ${bad.join(', ')}`,
        );
        if (verdict.splitBrain !== 0) throw fail('false split brain');
        const settled = now - truthSince >= 1_000;
        if (settled && agreeSince !== undefined && now - agreeSince >= 2_000) {
          correctS = Math.max(0, agreeSince - truthSince) / 1000;
          break;
        }
        if (settled && now - truthSince > CORRECT_WITHIN_MS + 2_000)
          throw fail(`the exporter did not agree with etcd within ${CORRECT_WITHIN_MS} ms`);
        if (now - faultAt > 60_000) throw fail("etcd's view did not settle within 60 s");
        await sleep(250);
      }
      const settleS = (truthSince - faultAt) / 1000;
      if (correctS * 1000 > CORRECT_WITHIN_MS) throw fail(`agreed only after ${correctS} s`);
      // Alerts: the expected ones fire; no other critical one, and no false quorum loss meanwhile.
      const seenCritical = new Set<string>();
      const fired = new Set<string>();
      let falseAlarm: string | undefined;
      const watchFrom = Date.now();
      await waitFor(
        async () => {
          for (const a of await this.prom.alerts()) {
            if (a.state !== 'firing') continue;
            const name = a.labels.alertname ?? '?';
            if (name === 'EtcdMonitorAbsent' && !fired.has(name))
              log.push(`EtcdMonitorAbsent firing; targets ${JSON.stringify(await this.prom.targets())}`);
            fired.add(name);
            if (a.labels.severity === 'critical') seenCritical.add(name);
          }
          // A quorum loss is false only if etcd had a working majority both just before and just after.
          const before = await this.truth(cutOff);
          const v = await this.verdict();
          verdict = v;
          const after = await this.truth(cutOff);
          const quorumLost = v.quorumAvailable !== 1 && before.quorumAvailable && after.quorumAvailable;
          if (v.splitBrain !== 0 || quorumLost) falseAlarm ??= `${v.text}; etcd: ${after.text}`;
          // Watched for 12 s at least: enough for a 5 s `for:` on 2 s evaluations to fire a wrong alert.
          const watched = Date.now() - watchFrom >= 12_000;
          return falseAlarm !== undefined || (watched && s.expectAlerts.every((a) => fired.has(a)));
        },
        { what: `alerts ${s.expectAlerts.join(', ')}`, timeoutMs: 45_000, intervalMs: 1000 },
      ).catch((err: unknown) => {
        throw fail(`${String(err)}; fired: ${[...fired].join(', ')}`);
      });
      if (falseAlarm) throw fail(`false split brain or quorum loss: ${falseAlarm}`);
      const unexpected = [...seenCritical].filter((a) => !s.expectAlerts.includes(a));
      if (unexpected.length > 0) {
        const targets = await this.prom.targets();
        throw fail(`unexpected critical alerts ${unexpected.join(', ')}; targets ${JSON.stringify(targets)}`);
      }
      const critical = [...seenCritical].sort();
      const warnings = [...fired].filter((a) => a !== 'EtcdMonitorWatchdog' && !seenCritical.has(a)).sort();
      // Heal and wait for everything to clear (a rejoining member may force an election first).
      this.net.heal();
      const healedAt = Date.now();
      await this.waitClear(90_000);
      const row: ResultRow = {
        suite: this.suite,
        scenario: s.name,
        truth: truth.text,
        exporter: verdict.text,
        settleS,
        correctS,
        critical: critical.join(', ') || 'none',
        otherAlerts: warnings.join(', ') || 'none',
        clearS: (Date.now() - healedAt) / 1000,
      };
      this.rows.push(row);
      console.log(`${this.suite} / ${s.name}: ${JSON.stringify(row)}`);
      return row;
    } finally {
      this.net.heal();
    }
  }
}

/** One sample of member `at`'s own /metrics. */
async function memberSample(
  h: FaultHarness,
  at: number,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const res = await fetch(`${h.cluster.members[at]?.metricsUrl}/metrics`, {
    signal: AbortSignal.timeout(2_000),
  });
  return findSample(await res.text(), name, labels);
}

/** The leader's etcd_network_active_peers to `member` (its own view of the stream between them). */
export const leaderStreamsTo = (
  h: FaultHarness,
  leader: number,
  member: number,
): Promise<number | undefined> =>
  memberSample(h, leader, 'etcd_network_active_peers', { Remote: h.net.idOf(member) });

/** Raft bytes member `leader` has received from `member` (etcd_network_peer_received_bytes_total{From}). */
export const leaderReceivedFrom = (
  h: FaultHarness,
  leader: number,
  member: number,
): Promise<number | undefined> =>
  memberSample(h, leader, 'etcd_network_peer_received_bytes_total', { From: h.net.idOf(member) });

/** Isolates `members` from every other member, both ways. */
export function isolate(h: FaultHarness, members: readonly number[]): void {
  for (const a of members) {
    for (let b = 0; b < h.size; b++) {
      if (members.includes(b)) continue;
      h.net.dropOneWay(a, b);
      h.net.dropOneWay(b, a);
    }
  }
}

/**
 * Where a run writes its table: the git-ignored .tmp/ by default, so `make test` leaves the tree clean;
 * `FAULT_SUITE_RESULTS_DIR=perf/results npx vitest run test/exporter/fault-suite` refreshes the committed
 * copy that the README's Reliability section quotes.
 */
const RESULTS_DIR = join(ROOT, process.env['FAULT_SUITE_RESULTS_DIR'] ?? '.tmp');
const RESULTS = join(RESULTS_DIR, 'fault-suite.json');

/** Merges one suite's rows into RESULTS_DIR/fault-suite.json and rewrites fault-suite.md from it. */
export function recordResults(suite: string, rows: readonly ResultRow[]): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  let all: ResultRow[] = [];
  try {
    all = JSON.parse(readFileSync(RESULTS, 'utf8')) as ResultRow[];
  } catch {
    all = [];
  }
  all = [...all.filter((r) => r.suite !== suite), ...rows];
  writeFileSync(RESULTS, `${JSON.stringify(all, null, 2)}\n`);
  const lines = [
    '# Network-fault suite results',
    '',
    'Written by `npx vitest run test/exporter/fault-suite` (test/support/fault-suite.ts): real etcd 3.4 members',
    'behind loopback peer fault proxies, the exporter collecting every 1 s, Prometheus with the shipped rules',
    'and every `for:` cut to 5 s; etcd\'s view and the exporter\'s sampled every 250 ms. "etcd settled": from the',
    "fault until etcd's view (every member's Status; for the one-way loss follower → leader the leader's",
    '`etcd_network_active_peers`) took the form that shows it, held for 1 s. "to correct": from then until the',
    "exporter's series began agreeing with it for good (each sample against a fresh etcd view, 2 s unbroken;",
    '0 = already agreeing). The test fails beyond 3 rounds + 5 s, on any split_brain 1, on quorum_available 0',
    'while etcd has a working majority, and on a critical alert other than the expected ones.',
    '',
    "| cluster | scenario | truth (etcd: leader, tolerance, each member's leader@term) | exporter (last sample of the fault) | etcd settled (s) | to correct (s) | critical alerts | other alerts | clear after heal (s) |",
    '|---|---|---|---|---|---|---|---|---|',
    ...all.map(
      (r) =>
        `| ${r.suite} | ${r.scenario.replace(/\|/g, '\\|')} | ${r.truth} | ${r.exporter} | ${r.settleS.toFixed(1)} | ${r.correctS.toFixed(1)} | ${r.critical} | ${r.otherAlerts} | ${r.clearS.toFixed(1)} |`,
    ),
    '',
  ];
  writeFileSync(join(RESULTS_DIR, 'fault-suite.md'), lines.join('\n'));
}
