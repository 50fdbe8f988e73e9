// Loads the real etcd captures in test/fixtures/etcd-3.4 and etcd-3.5 (see their README files) through the
// exporter's own parsing code, and builds snapshots from them. Captures are never edited: tests that
// need a variation (another term, a missing member) transform the parsed objects and say so.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterSnapshot, CollectorResult, MemberSnapshot } from '../../src/collect/snapshot.js';
import type { Thresholds } from '../../src/config/types.js';
import { latestMemberList, resolveMembers } from '../../src/derive/identity.js';
import { parsePromText } from '../../src/protocol/prom-text/index.js';
import type { ParsedMetrics } from '../../src/protocol/prom-text/types.js';
import { normaliseAlarms, normaliseMemberList, normaliseStatus } from '../../src/etcd/normalise.js';
import type { AlarmEntry, MemberHealth, MemberListEntry, MemberStatus } from '../../src/etcd/types.js';

/** etcd minor versions with captures in test/fixtures/etcd-<version> (each README says how they were taken). */
export const ETCD_FIXTURE_VERSIONS = ['3.4', '3.5'] as const;
export type EtcdFixtureVersion = (typeof ETCD_FIXTURE_VERSIONS)[number];

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** Directory of the etcd 3.4 captures (the default of every loader below). */
export const FIXTURE_DIR = path.join(FIXTURES, 'etcd-3.4');

/** Raw text of one capture, e.g. `leader-metrics.txt` or `load/leader-metrics-0.txt`. */
export const fixtureText = (file: string, version: EtcdFixtureVersion = '3.4'): string =>
  readFileSync(path.join(FIXTURES, `etcd-${version}`, file), 'utf8');

/** Parsed JSON body of one gateway capture. */
export const fixtureJson = (file: string, version: EtcdFixtureVersion = '3.4'): Record<string, unknown> =>
  JSON.parse(fixtureText(file, version)) as Record<string, unknown>;

const parsedCache = new Map<string, ParsedMetrics>();

/** A /metrics capture parsed by the exporter's parser (cached: the files are ~150 kB). */
export function fixtureMetrics(file: string, version: EtcdFixtureVersion = '3.4'): ParsedMetrics {
  const key = `${version}/${file}`;
  let parsed = parsedCache.get(key);
  if (!parsed) {
    parsed = parsePromText(fixtureText(file, version));
    parsedCache.set(key, parsed);
  }
  return parsed;
}

export const fixtureStatus = (file: string, version: EtcdFixtureVersion = '3.4'): MemberStatus =>
  normaliseStatus(fixtureJson(file, version));
export const fixtureMemberList = (file: string, version: EtcdFixtureVersion = '3.4'): MemberListEntry[] =>
  normaliseMemberList(fixtureJson(file, version));
export const fixtureAlarms = (file: string, version: EtcdFixtureVersion = '3.4'): AlarmEntry[] =>
  normaliseAlarms(fixtureJson(file, version));

/** A /health capture normalised as src/etcd/http-client.ts does (`{"health":"true"}` → healthy). */
export function fixtureHealth(file = 'health.json', version: EtcdFixtureVersion = '3.4'): MemberHealth {
  const body = fixtureJson(file, version);
  return { healthy: body['health'] === 'true', reason: String(body['reason'] ?? '') };
}

interface CaptureLog {
  readonly captured: readonly { readonly file: string; readonly receivedAt: number }[];
}

/** Unix ms when a capture of `load/`, `nospace/` or `no-leader/` arrived, as recorded by its capture script. */
export function capturedAt(file: string, version: EtcdFixtureVersion = '3.4'): number {
  const [dir, name] = file.split('/');
  const log = fixtureJson(`${dir}/captures.json`, version) as unknown as CaptureLog;
  const entry = log.captured.find((c) => c.file === name);
  if (!entry) throw new Error(`etcd-${version}/${dir}/captures.json has no entry for ${name}`);
  return entry.receivedAt;
}

/** The server_id label of a member's own etcd_server_id series: its ID in hex. */
export function serverIdOf(metrics: ParsedMetrics): string {
  const id = metrics.get('etcd_server_id')?.samples[0]?.labels['server_id'];
  if (!id) throw new Error('capture has no etcd_server_id series');
  return id;
}

/** A successful collector result at `at`. */
export const ok = <T>(value: T, at: number): CollectorResult<T> => ({
  ok: true,
  value,
  at,
  durationSeconds: 0.01,
});

/** A failed collector result at `at` (the member did not answer). */
export const failed = (
  at: number,
  error = 'http://127.0.0.1:2379: connection refused: nothing listens at 127.0.0.1:2379',
  code = 'CONNECTION_REFUSED',
): CollectorResult<never> => ({
  ok: false,
  error,
  code,
  at,
  durationSeconds: 0.01,
});

/** What one member answered in a round; absent fields are collectors that failed this round. */
export interface MemberAnswers {
  readonly status?: MemberStatus;
  readonly metrics?: ParsedMetrics;
  readonly members?: readonly MemberListEntry[];
  readonly alarms?: readonly AlarmEntry[];
  readonly health?: MemberHealth;
}

/** A member snapshot where every collector ran at `at`: answered ones succeeded, the others failed. */
export function memberSnapshot(endpoint: string, at: number, answers: MemberAnswers): MemberSnapshot {
  const pick = <T>(value: T | undefined): CollectorResult<T> =>
    value === undefined ? failed(at) : ok(value, at);
  return {
    endpoint,
    status: pick(answers.status),
    metrics: pick(answers.metrics),
    members: pick(answers.members),
    alarms: pick(answers.alarms),
    health: pick(answers.health),
  };
}

/** Client URL of a member in a member list, by hex ID. */
export function clientUrlOf(list: readonly MemberListEntry[], id: string): string {
  const url = list.find((m) => m.id === id)?.clientUrls[0];
  if (!url) throw new Error(`member ${id} has no client URL in the member list`);
  return url;
}

/** Name of a member in a member list, by hex ID. */
export function nameOf(list: readonly MemberListEntry[], id: string): string {
  const name = list.find((m) => m.id === id)?.name;
  if (!name) throw new Error(`member ${id} has no name in the member list`);
  return name;
}

/**
 * The healthy 3-member cluster of the top-level captures. Only the leader's and one follower's Status
 * were captured; the third member (fixtures-2) gets the follower's Status with its own member ID put in
 * the header — a transformation, not a capture — wherever a test needs all three to answer.
 */
export function healthyCluster(version: EtcdFixtureVersion = '3.4') {
  const list = fixtureMemberList('member-list.json', version);
  const leader = fixtureStatus('status-leader.json', version);
  const follower = fixtureStatus('status-follower.json', version);
  const third = list.find((m) => m.id !== leader.memberId && m.id !== follower.memberId);
  if (!third) throw new Error(`etcd-${version}/member-list.json has no third member`);
  const thirdStatus: MemberStatus = { ...follower, memberId: third.id };
  return {
    list,
    leader,
    follower,
    third,
    thirdStatus,
    leaderMetrics: fixtureMetrics('leader-metrics.txt', version),
    followerMetrics: fixtureMetrics('follower-metrics.txt', version),
    alarms: fixtureAlarms('alarm-list.json', version),
    health: fixtureHealth('health.json', version),
    /** Member names as the member list gives them (which of fixtures-0..2 led differs per capture). */
    names: {
      leader: nameOf(list, leader.memberId),
      follower: nameOf(list, follower.memberId),
      third: third.name,
    },
    endpoints: {
      leader: clientUrlOf(list, leader.memberId),
      follower: clientUrlOf(list, follower.memberId),
      third: clientUrlOf(list, third.id),
    },
  };
}

/** The exporter's default thresholds (100 ms, 8 GiB, 2 members, 3 leader changes an hour), as derive takes them. */
export const DEFAULT_THRESHOLDS: Thresholds = {
  maxLatencyMs: 100,
  maxDbSizeBytes: 8 * 1024 ** 3,
  minAvailableNodes: 2,
  maxLeaderChangesPerHour: 3,
};

/**
 * The captured cluster as one round saw it: leader and follower answer everything (their real captures),
 * the third member answers nothing.
 */
export function capturedClusterSnapshot(
  cluster: string,
  at: number,
  version: EtcdFixtureVersion = '3.4',
): ClusterSnapshot {
  const h = healthyCluster(version);
  const answers = { members: h.list, alarms: h.alarms, health: h.health };
  return {
    cluster,
    takenAt: at,
    expectedMembers: 3,
    members: [
      memberSnapshot(h.endpoints.leader, at, { ...answers, status: h.leader, metrics: h.leaderMetrics }),
      memberSnapshot(h.endpoints.follower, at, {
        ...answers,
        status: h.follower,
        metrics: h.followerMetrics,
      }),
      memberSnapshot(h.endpoints.third, at, {}),
    ],
  };
}

/** One configured endpoint and what it answered this round. */
export interface EndpointAnswers {
  readonly endpoint: string;
  readonly answers: MemberAnswers;
}

/** A snapshot of `members` taken at `at`, and its members resolved the way deriveCluster does. */
export function resolvedRound(members: readonly EndpointAnswers[], at = 1_000_000) {
  const snapshot: ClusterSnapshot = {
    cluster: 'fixtures',
    takenAt: at,
    members: members.map((m) => memberSnapshot(m.endpoint, at, m.answers)),
  };
  const list = latestMemberList(snapshot);
  return { snapshot, list, resolved: resolveMembers(snapshot, list, new Map()) };
}
