import { samplesOf } from '../protocol/prom-text/index.js';
import type { MemberStatus } from '../etcd/types.js';
import type { ResolvedMember } from './identity.js';

/**
 * One word for a member's health, from several signals rather than /health alone:
 * - `healthy`: /health answered true (etcd 3.4 committed a raft QGET within its 1 s budget).
 * - `slow`: /health failed or said false, but Status answers naming the same leader in the same term as
 *   before and the raft index has advanced recently, or the exporter's probe write through it committed:
 *   raft works, only slower than /health's 1 s.
 * - `unreachable`: the exporter gets no Status, but a peer that knows a leader holds an active raft
 *   stream to the member (etcd_network_active_peers{Remote=<id>} > 0) and keeps receiving raft traffic
 *   from it (etcd_network_peer_received_bytes_total{From=<id>} grows): alive, cut off from the exporter.
 * - `unhealthy`: answers Status but is neither healthy nor slow (no leader, stalled, alarm, its raft stream
 *   with the leader down on either side, …).
 * - `down`: no Status and no peer sees it.
 */
export const HEALTH_STATES = ['healthy', 'slow', 'unreachable', 'unhealthy', 'down'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

export interface MemberHealthState {
  readonly state: HealthState;
  /** Why, in a few words with the signals that decided it (for the REST API and logs). */
  readonly reason: string;
}

/** The raft position of a member's last Status, kept between rounds to tell "slow" from "stuck". */
export interface RaftProgress {
  readonly at: number;
  readonly leaderId: string;
  readonly raftTerm: number;
  readonly raftIndex: number;
  readonly raftAppliedIndex: number;
  /** When the index or applied index was last seen to grow under this leader and term. */
  readonly advancedAt?: number;
}

/**
 * How recently the raft index must have grown for a member with a failing /health to count as slow.
 * Every /health call is itself a raft proposal in etcd 3.4 (a v2 QGET: 5 calls moved raftIndex 5 → 10 on
 * 3.4.23), and the probe writes each health round, so a working cluster advances at least once per health interval (default 10 s); 30 s spans
 * three of them. A stall longer than that is not "slow" any more.
 */
export const SLOW_PROGRESS_WINDOW_MS = 30_000;

/** Next progress record from a new Status; the same Status seen again (same `at`) changes nothing. */
export function nextProgress(
  known: RaftProgress | undefined,
  status: MemberStatus,
  at: number,
): RaftProgress {
  if (known && known.at === at) return known;
  const base = {
    at,
    leaderId: status.leaderId,
    raftTerm: status.raftTerm,
    raftIndex: status.raftIndex,
    raftAppliedIndex: status.raftAppliedIndex,
  };
  // A new leader or term restarts the record: stability under one leader is part of "slow".
  if (!known || known.leaderId !== status.leaderId || known.raftTerm !== status.raftTerm) return base;
  const advanced = status.raftIndex > known.raftIndex || status.raftAppliedIndex > known.raftAppliedIndex;
  const advancedAt = advanced ? at : known.advancedAt;
  return advancedAt === undefined ? base : { ...base, advancedAt };
}

/** Active raft streams (etcd_network_active_peers) from `peer` to the member with hex ID `remote`. */
export function activeStreams(peer: ResolvedMember, remote: string): number | undefined {
  const metrics = peer.snapshot.metrics?.ok ? peer.snapshot.metrics.value : undefined;
  if (!metrics) return undefined;
  return samplesOf(metrics, 'etcd_network_active_peers')
    .filter((s) => s.labels['Remote'] === remote)
    .reduce((sum, s) => sum + s.value, 0);
}

/** Reachable members (Status answered, a leader known) whose /metrics show an active raft stream to `member`. */
export function peersStreamingTo(
  member: ResolvedMember,
  members: readonly ResolvedMember[],
): ResolvedMember[] {
  if (!member.id) return [];
  const id = member.id;
  return members.filter(
    (peer) =>
      peer !== member &&
      peer.status !== undefined &&
      peer.status.leaderId !== '0' &&
      (activeStreams(peer, id) ?? 0) > 0,
  );
}

/** Raft bytes one member had received from each peer at its last scrape, and from whom they grew. */
export interface PeerTraffic {
  readonly at: number;
  readonly receivedFrom: ReadonlyMap<string, number>;
  /** Peers (hex IDs) whose etcd_network_peer_received_bytes_total grew since this member's scrape before. */
  readonly grewFrom: ReadonlySet<string>;
  /** Time of the scrape before, when there was one: only then does a peer missing from `grewFrom` mean silence. */
  readonly previousAt?: number;
}

/** Next traffic record of one member from its newest /metrics; the same scrape seen again changes nothing. */
export function nextTraffic(known: PeerTraffic | undefined, member: ResolvedMember): PeerTraffic | undefined {
  const result = member.snapshot.metrics;
  if (!result?.ok) return known;
  if (known && known.at === result.at) return known;
  const receivedFrom = new Map<string, number>();
  for (const s of samplesOf(result.value, 'etcd_network_peer_received_bytes_total')) {
    const from = s.labels['From'];
    if (from) receivedFrom.set(from, (receivedFrom.get(from) ?? 0) + s.value);
  }
  const grewFrom = new Set(
    [...receivedFrom]
      .filter(([from, bytes]) => bytes > (known?.receivedFrom.get(from) ?? Infinity))
      .map(([f]) => f),
  );
  return { at: result.at, receivedFrom, grewFrom, ...(known ? { previousAt: known.at } : {}) };
}

/**
 * The leader's last two scrapes show raft bytes arriving from other peers but none from `memberId`
 * (etcd_network_peer_received_bytes_total{From=<id>} unchanged): the follower's heartbeat responses and
 * append acknowledgements, sent every heartbeat (100 ms by default), no longer reach it. etcd 3.5 keeps
 * reporting the leader's stream to such a follower active (its writes still succeed): in the peer-faults
 * captures of 3.5.30 with follower → leader dropped, active_peers read 1 on both sides while the bytes from
 * the follower stayed at 8977 over 2 s and those from the third member grew 16430 → 17350; 3.4.23 dropped
 * the stream (active_peers 0).
 */
export function leaderHearsNothingFrom(
  leader: ResolvedMember,
  memberId: string,
  traffic: ReadonlyMap<string, PeerTraffic>,
): boolean {
  const t = traffic.get(leader.endpoint);
  if (!t || t.previousAt === undefined || !t.receivedFrom.has(memberId)) return false;
  // From="0" counts bytes etcd could not attribute to a member; only another member's growth shows the
  // leader was hearing its peers at all.
  return !t.grewFrom.has(memberId) && [...t.grewFrom].some((id) => id !== '0');
}

/**
 * Reachable members (Status answered, a leader known) that received raft traffic from `member` between
 * their last two scrapes, the newer one taken after `lastSeenAt` (the member's last answered Status, when
 * known). Bytes arriving from it prove it is running and connected; an open stream alone does not — a
 * blackholed peer's TCP connection stays "active" while writes fill the socket buffer, and a scrape from
 * before the exporter lost the member says nothing about it now. The leader hears from every follower at
 * each heartbeat (100 ms by default) and every follower from the leader; followers rarely talk to each other.
 */
export function peersHearingFrom(
  member: ResolvedMember,
  members: readonly ResolvedMember[],
  traffic: ReadonlyMap<string, PeerTraffic>,
  lastSeenAt?: number,
): ResolvedMember[] {
  if (!member.id) return [];
  const id = member.id;
  return peersStreamingTo(member, members).filter((peer) => {
    const t = traffic.get(peer.endpoint);
    return t !== undefined && (lastSeenAt === undefined || t.at > lastSeenAt) && t.grewFrom.has(id);
  });
}

/**
 * The health state of one member this round. `progress` is its raft record: after this round's Status
 * when it answered, else from its last answered Status (whose time bounds the peers' evidence).
 */
export function classifyHealth(
  member: ResolvedMember,
  members: readonly ResolvedMember[],
  progress: RaftProgress | undefined,
  alarmed: boolean,
  traffic: ReadonlyMap<string, PeerTraffic> = new Map(),
): MemberHealthState {
  const health = member.snapshot.health;
  const status = member.status;
  if (!status) {
    const seers = peersHearingFrom(member, members, traffic, progress?.at);
    if (seers.length > 0) {
      const leaderSees = seers.find((p) => p.id !== undefined && p.id === p.status?.leaderId);
      const who = (leaderSees ?? seers[0]) as ResolvedMember;
      return {
        state: 'unreachable',
        reason: `exporter gets no Status (${errorOf(member)}), but ${leaderSees ? 'the leader' : 'peer'} ${who.name} has an active raft stream to it and keeps receiving raft traffic from it`,
      };
    }
    return {
      state: 'down',
      reason: `no Status (${errorOf(member)}) and no peer received raft traffic from it since the exporter last reached it`,
    };
  }
  if (health?.ok && health.value.healthy) return { state: 'healthy', reason: '/health true' };
  const healthWhy = !health
    ? '/health not asked yet'
    : health.ok
      ? `/health false${health.value.reason ? ` (${health.value.reason})` : ''}`
      : `/health failed (${health.error})`;
  if (alarmed) return { state: 'unhealthy', reason: `${healthWhy}; an alarm is active` };
  if (status.leaderId === '0') return { state: 'unhealthy', reason: `${healthWhy}; Status names no leader` };
  const cut = streamCutWithLeader(member, members, traffic);
  if (cut) return { state: 'unhealthy', reason: `${healthWhy}; ${cut}` };
  const recent =
    progress?.advancedAt !== undefined && progress.at - progress.advancedAt <= SLOW_PROGRESS_WINDOW_MS;
  const probe = member.snapshot.probe;
  if (!recent && probe?.ok)
    // A write through it committed (the probe's put, a raft proposal) although /health gave up: raft works,
    // slowly. This also covers the exporter's first round, before any raft progress can be compared.
    return {
      state: 'slow',
      reason: `${healthWhy}, but the probe's write through it committed in ${probe.value.writeSeconds.toFixed(3)} s under leader ${status.leaderId}`,
    };
  if (!recent)
    return {
      state: 'unhealthy',
      reason: `${healthWhy}; raft index ${status.raftIndex} has not advanced under this leader and term within ${SLOW_PROGRESS_WINDOW_MS / 1000} s`,
    };
  return {
    state: 'slow',
    reason: `${healthWhy}, but Status names leader ${status.leaderId} in term ${status.raftTerm} and the raft index advances (${status.raftIndex})`,
  };
}

/**
 * A follower whose raft stream with the leader it names is down on either side (etcd_network_active_peers
 * 0 in the follower's or the leader's /metrics), or whose bytes no longer reach the leader (etcd 3.5 keeps
 * the stream "active": see leaderHearsNothingFrom): traffic flows one way at most. With follower → leader
 * lost, the follower keeps hearing heartbeats and appends, so Status names the leader and the raft index
 * advances — it looks slow — yet the leader never gets its acknowledgements: it does not count toward
 * quorum (the network-fault suite saw tolerance 1 reported where etcd had 0 on 3 members). Checked only
 * once /health failed, so a stream reconnecting under a healthy member changes nothing.
 */
function streamCutWithLeader(
  member: ResolvedMember,
  members: readonly ResolvedMember[],
  traffic: ReadonlyMap<string, PeerTraffic>,
): string | undefined {
  const leaderId = member.status?.leaderId;
  if (!member.id || !leaderId || leaderId === '0' || leaderId === member.id) return undefined;
  const leader = members.find((m) => m.id === leaderId && m.status !== undefined);
  if (!leader) return undefined;
  if (activeStreams(member, leaderId) === 0) return `no active raft stream to leader ${leader.name}`;
  if (activeStreams(leader, member.id) === 0)
    return `leader ${leader.name} has no active raft stream to it (one-way partition)`;
  if (leaderHearsNothingFrom(leader, member.id, traffic))
    return `leader ${leader.name} received no raft traffic from it between its last two scrapes (one-way partition)`;
  return undefined;
}

/** States that keep a voting member counted toward quorum: raft works on it, whatever /health says. */
export const countsTowardQuorum = (state: HealthState): boolean =>
  state === 'healthy' || state === 'slow' || state === 'unreachable';

function errorOf(member: ResolvedMember): string {
  const status = member.snapshot.status;
  return status && !status.ok ? status.error : 'not asked yet';
}

/** Health state of every member this round, and the raft progress records to keep for the next one. */
export function deriveHealthStates(
  members: readonly ResolvedMember[],
  known: ReadonlyMap<string, RaftProgress>,
  alarmsActive: boolean,
  knownTraffic: ReadonlyMap<string, PeerTraffic> = new Map(),
): {
  states: Map<ResolvedMember, MemberHealthState>;
  progress: Map<string, RaftProgress>;
  traffic: Map<string, PeerTraffic>;
} {
  const progress = new Map<string, RaftProgress>();
  const states = new Map<ResolvedMember, MemberHealthState>();
  const traffic = new Map<string, PeerTraffic>();
  for (const m of members) {
    const t = nextTraffic(knownTraffic.get(m.endpoint), m);
    if (t) traffic.set(m.endpoint, t);
  }
  for (const m of members) {
    const result = m.snapshot.status;
    // A failed Status keeps the last record: a slow member may miss one Status and still be the same member.
    const record =
      result?.ok === true
        ? nextProgress(known.get(m.endpoint), result.value, result.at)
        : known.get(m.endpoint);
    if (record) progress.set(m.endpoint, record);
    states.set(m, classifyHealth(m, members, record, alarmsActive, traffic));
  }
  return { states, progress, traffic };
}
