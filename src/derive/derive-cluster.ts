import type { ClusterSnapshot } from '../collect/snapshot.js';
import type { Thresholds } from '../config/types.js';
import { ALARM_TYPES, type AlarmEntry } from '../etcd/types.js';
import { latestAlarmList } from './alarm-list.js';
import { addSizeSample, growthBytesPerSecond, secondsUntilFull, type SizeSamples } from './db-growth.js';
import { latestMemberList, resolveMembers, type EndpointIdentity, type ResolvedMember } from './identity.js';
import { deriveHashConsistency } from './hash-consistency.js';
import {
  deriveHealthStates,
  type MemberHealthState,
  type PeerTraffic,
  type RaftProgress,
} from './health-state.js';
import { deriveLeadership } from './leadership.js';
import { EMPTY_LEADER_HISTORY, observeLeader, type LeaderHistory } from './leader-changes.js';
import { deriveMemberRates, type MemberRates, type TimedMetrics } from './member-rates.js';
import { nextPartitionStreaks, PARTITION_REASONS, partitionSignals } from './partition.js';
import {
  addProbe,
  EMPTY_PROBE_WINDOW,
  latestRoundAboveMax,
  percentile,
  type ProbeWindow,
} from './probe-window.js';
import { deriveQuorum, isHealthy } from './quorum.js';
import type { ClusterView, MemberView, PartitionReason } from './view.js';

/** Rounds a partition sign must persist before it is reported (elections cause one-round blips). */
export const PARTITION_PERSIST_ROUNDS = 2;

/** What derivation remembers between rounds of one cluster. Plain data, replaced on every round. */
export interface DeriveState {
  readonly identities: ReadonlyMap<string, EndpointIdentity>;
  /** Per endpoint: the newest /metrics and the rates derived from it and the one before. */
  readonly metrics: ReadonlyMap<
    string,
    { readonly current: TimedMetrics; readonly rates: MemberRates; readonly peerRttAt?: number }
  >;
  readonly dbSizes: ReadonlyMap<string, SizeSamples>;
  readonly leaders: LeaderHistory;
  readonly partitionStreaks: ReadonlyMap<PartitionReason, number>;
  /** Per endpoint: leader, term and raft index of its last Status, to tell a slow member from a stuck one. */
  readonly raftProgress: ReadonlyMap<string, RaftProgress>;
  /** Per endpoint: raft bytes received from each peer at its last scrape, to tell an unreachable member from a dead one. */
  readonly peerTraffic: ReadonlyMap<string, PeerTraffic>;
  readonly probes: ProbeWindow;
  readonly probeSeenAt: ReadonlyMap<string, number>;
  readonly lastHealthRoundAt?: number;
}

export const INITIAL_DERIVE_STATE: DeriveState = {
  identities: new Map(),
  metrics: new Map(),
  dbSizes: new Map(),
  leaders: EMPTY_LEADER_HISTORY,
  partitionStreaks: new Map(),
  raftProgress: new Map(),
  peerTraffic: new Map(),
  probes: EMPTY_PROBE_WINDOW,
  probeSeenAt: new Map(),
};

/** Turns one snapshot into the cluster's view; pure: the same state and snapshot give the same result. */
export function deriveCluster(
  state: DeriveState,
  snapshot: ClusterSnapshot,
  thresholds: Thresholds,
): { view: ClusterView; state: DeriveState } {
  const memberList = latestMemberList(snapshot);
  const alarmList = latestAlarmList(snapshot);
  const members = resolveMembers(snapshot, memberList, state.identities);
  const identities = new Map(state.identities);
  for (const m of members) if (m.id) identities.set(m.endpoint, { id: m.id, name: m.name });

  const metrics = nextMetricsState(state, members);
  const dbSizes = new Map(state.dbSizes);
  let probes = state.probes;
  const probeSeenAt = new Map(state.probeSeenAt);
  for (const m of members) {
    if (m.status && m.snapshot.status?.ok) {
      dbSizes.set(
        m.endpoint,
        addSizeSample(dbSizes.get(m.endpoint) ?? [], m.snapshot.status.at, m.status.dbSizeBytes),
      );
    }
    const probe = m.snapshot.probe;
    if (probe?.ok && probe.at !== probeSeenAt.get(m.endpoint)) {
      probes = addProbe(probes, probe.value.readSeconds, probe.value.writeSeconds);
      probeSeenAt.set(m.endpoint, probe.at);
    }
  }

  const alarmsActive = (alarmList?.length ?? 0) > 0;
  const health = deriveHealthStates(members, state.raftProgress, alarmsActive, state.peerTraffic);
  const healthStates = new Map([...health.states].map(([m, h]) => [m, h.state]));
  const quorum = deriveQuorum(members, memberList, thresholds.minAvailableNodes, healthStates, alarmsActive);
  const leadership = deriveLeadership(members);
  const leaders = observeLeader(
    state.leaders,
    leadership.leaderId !== undefined
      ? { id: leadership.leaderId, term: leadership.leaderTerm ?? 0 }
      : undefined,
    snapshot.takenAt,
  );
  const signals = partitionSignals(members, health.traffic);
  const newScrape = members.some(
    (m) => m.snapshot.metrics?.ok && state.metrics.get(m.endpoint)?.current.at !== m.snapshot.metrics.at,
  );
  const partitionStreaks = nextPartitionStreaks(state.partitionStreaks, signals, newScrape);
  const hashes = deriveHashConsistency(members);
  const memberViewsBase = members.map((m) =>
    memberView(
      m,
      metrics.get(m.endpoint)?.rates ?? {},
      dbSizes.get(m.endpoint) ?? [],
      leadership.leaderId,
      thresholds,
      alarmList,
      health.states.get(m) as MemberHealthState,
    ),
  );
  // Only members whose hash took part in a comparison get a verdict; the others stay unknown.
  const comparedEndpoints = new Set(members.filter((r) => r.snapshot.hashkv?.ok).map((r) => r.endpoint));
  const memberViews = memberViewsBase.map((m) =>
    hashes.consistent !== undefined && comparedEndpoints.has(m.endpoint)
      ? { ...m, hashMismatch: hashes.mismatched.includes(m.endpoint) }
      : m,
  );
  const leaderMember =
    members.find((m) => m.id !== undefined && m.id === leadership.leaderId)?.name ??
    memberList?.find((m) => m.id === leadership.leaderId)?.name;
  const readP99 = percentile(probes.read, 0.99);
  const writeP99 = percentile(probes.write, 0.99);
  const maxLatencySeconds = thresholds.maxLatencyMs / 1000;

  const alarms = memberViews.flatMap((m) => m.alarms.map((alarm) => ({ member: m.member, alarm })));
  const view: ClusterView = {
    cluster: snapshot.cluster,
    healthy: quorum.quorumAvailable && leadership.hasLeader && !leadership.splitBrain && alarms.length === 0,
    takenAt: snapshot.takenAt,
    members: memberViews,
    ...quorum,
    ...(snapshot.expectedMembers ? { expectedMembers: snapshot.expectedMembers } : {}),
    thresholds,
    hasLeader: leadership.hasLeader,
    ...(leadership.leaderId ? { leaderId: leadership.leaderId } : {}),
    ...(leaderMember ? { leaderMember } : {}),
    distinctLeadersClaimed: leadership.distinctLeadersClaimed,
    splitBrain: leadership.splitBrain,
    staleLeader: leadership.staleLeader,
    partitionReasons: PARTITION_REASONS.filter(
      (r) => (partitionStreaks.get(r) ?? 0) >= PARTITION_PERSIST_ROUNDS,
    ),
    leaderChangesTotal: leaders.total,
    leaderChangesLastHour: leaders.recent.length,
    leaderChangesExceeded: leaders.recent.length > thresholds.maxLeaderChangesPerHour,
    ...(leaders.lastChangeAt ? { lastLeaderChangeAt: leaders.lastChangeAt } : {}),
    clusterIds: [...new Set(members.flatMap((m) => (m.status ? [m.status.clusterId] : [])))],
    versions: [...new Set(members.flatMap((m) => (m.status ? [m.status.version] : [])))],
    hashCheck: {
      ...(hashes.revision !== undefined ? { revision: hashes.revision } : {}),
      compared: hashes.compared,
      ...(hashes.consistent !== undefined ? { consistent: hashes.consistent } : {}),
    },
    alarms,
    probe: {
      ...defined('readP50Seconds', percentile(probes.read, 0.5)),
      ...defined('readP95Seconds', percentile(probes.read, 0.95)),
      ...defined('readP99Seconds', readP99),
      ...defined('writeP50Seconds', percentile(probes.write, 0.5)),
      ...defined('writeP95Seconds', percentile(probes.write, 0.95)),
      ...defined('writeP99Seconds', writeP99),
      // The latest round's probes, not the 300-result window: that kept the verdict ≈100 rounds after recovery.
      aboveMaxLatency: latestRoundAboveMax(
        members.flatMap((m) => (m.snapshot.probe?.ok ? [m.snapshot.probe.value] : [])),
        maxLatencySeconds,
      ),
    },
  };
  return {
    view,
    state: {
      identities: onlyPresent(identities, snapshot),
      metrics: onlyPresent(metrics, snapshot),
      dbSizes: onlyPresent(dbSizes, snapshot),
      leaders,
      partitionStreaks,
      raftProgress: health.progress,
      peerTraffic: health.traffic,
      probes,
      probeSeenAt: onlyPresent(probeSeenAt, snapshot),
    },
  };
}

/**
 * Per-endpoint memory is kept only for endpoints still watched: members removed from the cluster (or
 * moved to another URL) would otherwise keep their parsed metrics and size samples forever.
 */
function onlyPresent<V>(map: ReadonlyMap<string, V>, snapshot: ClusterSnapshot): ReadonlyMap<string, V> {
  const present = new Set(snapshot.members.map((m) => m.endpoint));
  if ([...map.keys()].every((endpoint) => present.has(endpoint))) return map;
  return new Map([...map].filter(([endpoint]) => present.has(endpoint)));
}

/** etcd's peer prober observes round trips only every 30 s; a p99 is kept this long between observations. */
export const PEER_RTT_HOLD_MS = 90_000;

/**
 * Most scrape pairs see no new peer round trip (etcd probes every 30 s), which would leave the p99 absent
 * two rounds in three; the last value is carried forward until a newer one or until it is too old.
 */
export function carryPeerRoundTrip(
  known: { readonly rates: MemberRates; readonly peerRttAt?: number } | undefined,
  rates: MemberRates,
  at: number,
): { rates: MemberRates; peerRttAt?: number } {
  if (rates.peerRoundTripP99Seconds !== undefined) return { rates, peerRttAt: at };
  const last = known?.rates.peerRoundTripP99Seconds;
  const lastAt = known?.peerRttAt;
  if (last === undefined || lastAt === undefined || at - lastAt > PEER_RTT_HOLD_MS) return { rates };
  return { rates: { ...rates, peerRoundTripP99Seconds: last }, peerRttAt: lastAt };
}

function nextMetricsState(state: DeriveState, members: readonly ResolvedMember[]): DeriveState['metrics'] {
  const next = new Map(state.metrics);
  for (const m of members) {
    const result = m.snapshot.metrics;
    if (!result?.ok) {
      // Rates must not bridge an outage: keep nothing, start over when the member is back.
      if (result) next.delete(m.endpoint);
      continue;
    }
    const known = next.get(m.endpoint);
    if (known && known.current.at === result.at) continue;
    const current: TimedMetrics = { at: result.at, metrics: result.value };
    // Only the newest scrape is kept: the older one has served its purpose once the rates exist, and
    // holding it doubled the parsed samples kept in memory (≈6 MB per 30 members).
    next.set(m.endpoint, {
      current,
      ...carryPeerRoundTrip(known, deriveMemberRates(known?.current, current), current.at),
    });
  }
  return next;
}

function memberView(
  m: ResolvedMember,
  rates: MemberRates,
  sizes: SizeSamples,
  leaderId: string | undefined,
  thresholds: Thresholds,
  alarmsKnown: readonly AlarmEntry[] | undefined,
  health: MemberHealthState,
): MemberView {
  const s = m.status;
  const alarms = ALARM_TYPES.filter((type) =>
    alarmsKnown?.some((a) => a.alarm === type && a.memberId === m.id),
  );
  const growth = growthBytesPerSecond(sizes);
  const quota = rates.quotaBytes;
  const { quotaBytes: _q, ...rest } = rates;
  return {
    member: m.name,
    endpoint: m.endpoint,
    ...(m.id ? { memberId: m.id } : {}),
    up: s !== undefined,
    healthy: isHealthy(m),
    healthState: health.state,
    healthReason: health.reason,
    ...(s
      ? {
          isLeader: leaderId !== undefined && s.memberId === leaderId,
          isLearner: s.isLearner,
          leaderId: s.leaderId,
          raftTerm: s.raftTerm,
          raftIndex: s.raftIndex,
          raftAppliedIndex: s.raftAppliedIndex,
          applyLagEntries: Math.max(0, s.raftIndex - s.raftAppliedIndex),
          revision: s.revision,
          dbSizeBytes: s.dbSizeBytes,
          dbSizeInUseBytes: s.dbSizeInUseBytes,
          ...(s.dbSizeBytes > 0
            ? { fragmentationRatio: (s.dbSizeBytes - s.dbSizeInUseBytes) / s.dbSizeBytes }
            : {}),
          ...(quota ? { quotaBytes: quota, quotaUsageRatio: s.dbSizeBytes / quota } : {}),
          ...defined('dbGrowthBytesPerSecond', growth),
          ...defined('secondsUntilQuotaFull', secondsUntilFull(s.dbSizeBytes, quota, growth)),
          dbAboveMaxSize: s.dbSizeBytes > thresholds.maxDbSizeBytes,
          version: s.version,
        }
      : {}),
    alarms: alarmsKnown ? alarms : [],
    alarmsKnown: alarmsKnown !== undefined,
    ...rest,
  };
}

function defined<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}
