import type { AlarmEntry, AlarmType, MemberListEntry, MemberStatus } from './types.js';

/**
 * etcd3 (proto-loader, longs as decimal strings) and the JSON gateway (decimal strings, zero fields
 * omitted) answer in slightly different shapes; these functions accept both and return plain data.
 */

type Loose = Record<string, unknown>;

/** Decimal (or numeric, or `0x` hex) 64-bit ID → lower-case hex as etcdctl prints it; '0' for absent. */
export function idToHex(id: unknown): string {
  if (id === undefined || id === null || id === '') return '0';
  // Already hex from the wire decoder (src/protocol/protobuf/wire.ts).
  if (typeof id === 'string' && id.startsWith('0x')) return id.slice(2);
  try {
    return BigInt(id as string | number).toString(16);
  } catch {
    return String(id);
  }
}

const num = (value: unknown): number =>
  value === undefined || value === null || value === '' ? 0 : Number(value);

/** Maintenance.Status response → MemberStatus. */
export function normaliseStatus(raw: unknown): MemberStatus {
  const r = raw as Loose;
  const header = (r['header'] ?? {}) as Loose;
  return {
    memberId: idToHex(header['member_id']),
    clusterId: idToHex(header['cluster_id']),
    leaderId: idToHex(r['leader']),
    raftTerm: num(r['raftTerm']),
    raftIndex: num(r['raftIndex']),
    raftAppliedIndex: num(r['raftAppliedIndex']),
    revision: num(header['revision']),
    dbSizeBytes: num(r['dbSize']),
    dbSizeInUseBytes: num(r['dbSizeInUse']),
    version: String(r['version'] ?? ''),
    isLearner: r['isLearner'] === true,
    errors: Array.isArray(r['errors']) ? (r['errors'] as unknown[]).map(String) : [],
  };
}

/** Cluster.MemberList response → entries. */
export function normaliseMemberList(raw: unknown): MemberListEntry[] {
  const members = ((raw as Loose)['members'] ?? []) as Loose[];
  return members.map((m) => ({
    id: idToHex(m['ID']),
    name: String(m['name'] ?? ''),
    peerUrls: ((m['peerURLs'] ?? []) as unknown[]).map(String),
    clientUrls: ((m['clientURLs'] ?? []) as unknown[]).map(String),
    isLearner: m['isLearner'] === true,
  }));
}

const ALARM_BY_NUMBER: Record<string, AlarmType> = { '0': 'NONE', '1': 'NOSPACE', '2': 'CORRUPT' };

/** Maintenance.Alarm response → active alarms (NONE entries dropped). */
export function normaliseAlarms(raw: unknown): AlarmEntry[] {
  const alarms = ((raw as Loose)['alarms'] ?? []) as Loose[];
  return alarms
    .map((a) => {
      const value = String(a['alarm'] ?? 'NONE').toUpperCase();
      const alarm = (ALARM_BY_NUMBER[value] ?? value) as AlarmType;
      return { memberId: idToHex(a['memberID']), alarm };
    })
    .filter((a) => a.alarm !== 'NONE');
}

// etcd renders each alarm in StatusResponse.errors with Go's proto.CompactTextString of an AlarmMember:
// `memberID:<decimal> alarm:<NAME> ` (trailing blank included). Other errors, such as
// "etcdserver: no leader", share the list and are not alarms.
const STATUS_ALARM = /^memberID:(\d+) alarm:([A-Z]+)\s*$/;

/**
 * The active alarms a Status answer names in its `errors` (etcd 3.4+ lists the member's alarm store
 * there): the same entries as an AlarmList answer from that member, without the raft proposal etcd
 * makes for every AlarmList.
 */
export function alarmsInStatusErrors(errors: readonly string[]): AlarmEntry[] {
  const alarms: AlarmEntry[] = [];
  for (const error of errors) {
    const match = STATUS_ALARM.exec(error);
    if (match && match[2] !== 'NONE') {
      alarms.push({ memberId: idToHex(match[1]), alarm: match[2] as AlarmType });
    }
  }
  return alarms;
}
