import type { ResolvedMember } from './identity.js';

/** Outcome of comparing members' HashKV answers. */
export interface HashConsistency {
  /** Revision the hashes were taken at; absent before the first check. */
  readonly revision?: number;
  /** Members whose hashes were comparable (same revision and compact revision). */
  readonly compared: number;
  /** Known only when at least two members were compared. */
  readonly consistent?: boolean;
  /** Endpoints whose hash differs from the majority (all compared ones when there is no majority). */
  readonly mismatched: readonly string[];
}

/**
 * Compares HashKV results the way etcd's own corruption check does: only between members that hashed
 * the same revision with the same compact revision; the majority hash is taken as the healthy one.
 */
export function deriveHashConsistency(members: readonly ResolvedMember[]): HashConsistency {
  const results = members.flatMap((m) =>
    m.snapshot.hashkv?.ok ? [{ endpoint: m.endpoint, ...m.snapshot.hashkv.value }] : [],
  );
  if (results.length === 0) return { compared: 0, mismatched: [] };
  const groups = new Map<string, typeof results>();
  for (const r of results) {
    const key = `${r.revision}/${r.compactRevision}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const group = [...groups.values()].sort((a, b) => b.length - a.length)[0] as typeof results;
  const revision = (group[0] as { revision: number }).revision;
  if (group.length < 2) return { revision, compared: group.length, mismatched: [] };
  const votes = new Map<number, number>();
  for (const r of group) votes.set(r.hash, (votes.get(r.hash) ?? 0) + 1);
  if (votes.size === 1) return { revision, compared: group.length, consistent: true, mismatched: [] };
  const [majorityHash, majorityCount] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0] as [
    number,
    number,
  ];
  const hasMajority = majorityCount * 2 > group.length;
  return {
    revision,
    compared: group.length,
    consistent: false,
    mismatched: group.filter((r) => !hasMajority || r.hash !== majorityHash).map((r) => r.endpoint),
  };
}
