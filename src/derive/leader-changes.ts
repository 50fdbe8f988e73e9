const HOUR_MS = 3_600_000;

/** Leader transitions the exporter has observed. */
export interface LeaderHistory {
  readonly lastLeaderId?: string;
  readonly lastTerm?: number;
  readonly total: number;
  /** Unix ms of each change within the last hour. */
  readonly recent: readonly number[];
  readonly lastChangeAt?: number;
}

export const EMPTY_LEADER_HISTORY: LeaderHistory = { total: 0, recent: [] };

/**
 * Records one observation of (leader, term). A new leader or a new term under a known leader is one
 * change (a re-election disrupts clients even when the same member wins); a leaderless moment is not
 * counted by itself, and the very first observation is not a change.
 */
export function observeLeader(
  history: LeaderHistory,
  leader: { readonly id: string; readonly term: number } | undefined,
  now: number,
): LeaderHistory {
  const recent = history.recent.filter((t) => now - t < HOUR_MS);
  if (!leader) return { ...history, recent };
  if (history.lastLeaderId === undefined)
    return { ...history, recent, lastLeaderId: leader.id, lastTerm: leader.term };
  const changed = leader.id !== history.lastLeaderId || leader.term > (history.lastTerm ?? 0);
  if (!changed) return { ...history, recent };
  return {
    lastLeaderId: leader.id,
    lastTerm: leader.term,
    total: history.total + 1,
    recent: [...recent, now],
    lastChangeAt: now,
  };
}

/** One leader change as the leader history records it (member names when known). */
export interface LeaderChange {
  readonly cluster: string;
  /** Unix ms of the round that saw the new leader. */
  readonly at: number;
  readonly previousLeaderId?: string;
  readonly previousLeader?: string;
  readonly leaderId: string;
  readonly leader?: string;
  readonly term: number;
}

/**
 * The change between two successive histories of one cluster, if observeLeader counted one; `names` maps
 * member IDs to names. Nothing for the first observation after a start (observeLeader does not count it).
 */
export function leaderChangeBetween(
  cluster: string,
  before: LeaderHistory,
  after: LeaderHistory,
  names: (id: string) => string | undefined,
): LeaderChange | undefined {
  if (after.total <= before.total || after.lastLeaderId === undefined) return undefined;
  const previous = before.lastLeaderId;
  const previousName = previous === undefined ? undefined : names(previous);
  const leaderName = names(after.lastLeaderId);
  return {
    cluster,
    at: after.lastChangeAt ?? 0,
    ...(previous !== undefined ? { previousLeaderId: previous } : {}),
    ...(previousName !== undefined ? { previousLeader: previousName } : {}),
    leaderId: after.lastLeaderId,
    ...(leaderName !== undefined ? { leader: leaderName } : {}),
    term: after.lastTerm ?? 0,
  };
}
