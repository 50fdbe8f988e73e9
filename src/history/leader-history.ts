import type { LeaderChange } from '../derive/leader-changes.js';
import type { Logger } from '../util/logger.js';
import {
  newestFirst,
  openEventLog,
  parseLoggedObject,
  type AppendResult,
  type EventLogStats,
} from './event-log.js';

/** File name of the leader history inside --data-dir. */
export const LEADER_HISTORY_FILE_NAME = 'leader-history.jsonl';

/** One leader change, as stored and served by GET /api/v1/cluster/leader/history. */
export interface LeaderChangeEvent {
  readonly seq: number;
  /** When the exporter saw the new leader (ISO 8601). */
  readonly at: string;
  readonly cluster: string;
  /** Null when the exporter saw no leader before (cannot happen after the first observation, kept for safety). */
  readonly previousLeaderId: string | null;
  readonly previousLeader: string | null;
  readonly leaderId: string;
  readonly leader: string | null;
  /** Raft term of the new leader. */
  readonly term: number;
}

export interface LeaderHistoryQuery {
  readonly cluster?: string;
  readonly limit?: number;
  readonly before?: number;
}

export interface LeaderHistoryStore {
  record(change: LeaderChange): Promise<AppendResult>;
  /** Newest first. */
  history(query?: LeaderHistoryQuery): LeaderChangeEvent[];
  stats(): EventLogStats;
  close(): Promise<void>;
}

const nullableString = (v: unknown): boolean => v === null || typeof v === 'string';

/** Parses one stored line; a string is the reason it is not a leader change event. */
export function parseLeaderChangeLine(line: string): LeaderChangeEvent | string {
  const v = parseLoggedObject(line);
  if (typeof v === 'string') return v;
  if (typeof v.at !== 'string' || Number.isNaN(Date.parse(v.at))) return 'missing or bad "at"';
  if (typeof v.cluster !== 'string' || typeof v.leaderId !== 'string')
    return 'missing "cluster" or "leaderId"';
  if (!nullableString(v.previousLeaderId) || !nullableString(v.previousLeader) || !nullableString(v.leader))
    return 'bad leader names';
  if (typeof v.term !== 'number' || !Number.isSafeInteger(v.term) || v.term < 0)
    return 'missing or bad "term"';
  return v as unknown as LeaderChangeEvent;
}

/** The leader history under `dataDir`: bounded and persisted like the alert history (same event log). */
export async function openLeaderHistory(
  dataDir: string,
  log: Logger,
  options: { capacity?: number; compactAfterLines?: number } = {},
): Promise<LeaderHistoryStore> {
  const events = await openEventLog<LeaderChangeEvent>({
    name: 'leader',
    dir: dataDir,
    title: 'leader history',
    fileName: LEADER_HISTORY_FILE_NAME,
    log,
    parse: parseLeaderChangeLine,
    ...options,
  });
  return {
    record(change) {
      return events.append([
        {
          seq: events.nextSeq,
          at: new Date(change.at).toISOString(),
          cluster: change.cluster,
          previousLeaderId: change.previousLeaderId ?? null,
          previousLeader: change.previousLeader ?? null,
          leaderId: change.leaderId,
          leader: change.leader ?? null,
          term: change.term,
        },
      ]);
    },
    history(query = {}) {
      return newestFirst(
        events.events(),
        (e) =>
          (query.cluster === undefined || e.cluster === query.cluster) &&
          (query.before === undefined || e.seq < query.before),
        query.limit,
      );
    },
    stats: () => events.stats(),
    close: () => events.close(),
  };
}
