import type { ParsedMetrics } from '../protocol/prom-text/types.js';
import type {
  AlarmEntry,
  MemberHashKv,
  MemberHealth,
  MemberListEntry,
  MemberStatus,
  ProbeResult,
} from '../etcd/types.js';

/** Names of the per-member collectors; each reports its own success and duration. */
export const COLLECTORS = ['metrics', 'status', 'members', 'alarms', 'health', 'probe', 'hashkv'] as const;
export type CollectorName = (typeof COLLECTORS)[number];

/**
 * Outcome of one collector against one member. `value` is present only when `ok`; a failure carries
 * the stable `code` of its error (TransportErrorCode in src/util/errors.ts, or another MonitorError's
 * code such as METRICS_PARSE) and a message that says why.
 */
export type CollectorResult<T> =
  | { readonly ok: true; readonly value: T; readonly at: number; readonly durationSeconds: number }
  | {
      readonly ok: false;
      readonly error: string;
      readonly code: string;
      readonly at: number;
      readonly durationSeconds: number;
    };

/** Everything collected from one configured endpoint; a collector that has not run yet is absent. */
export interface MemberSnapshot {
  /** Client URL the exporter talks to: the member's advertised URL, or a configured endpoint. */
  readonly endpoint: string;
  /** True when the endpoint came from the member list and is not one of the configured `--endpoints`. */
  readonly discovered?: boolean;
  readonly metrics?: CollectorResult<ParsedMetrics>;
  readonly status?: CollectorResult<MemberStatus>;
  readonly members?: CollectorResult<readonly MemberListEntry[]>;
  readonly alarms?: CollectorResult<readonly AlarmEntry[]>;
  readonly health?: CollectorResult<MemberHealth>;
  readonly probe?: CollectorResult<ProbeResult>;
  readonly hashkv?: CollectorResult<MemberHashKv>;
  /** Failed results recorded for this member since it was first watched, by collector and code. */
  readonly errorCounts?: Readonly<Partial<Record<CollectorName, Readonly<Record<string, number>>>>>;
}

/** One point-in-time view of a cluster: plain data, the only input of the derive layer. */
export interface ClusterSnapshot {
  readonly cluster: string;
  /** Unix ms when the newest collector result in this snapshot finished. */
  readonly takenAt: number;
  readonly expectedMembers?: number;
  /**
   * The member list the collector believes (the leader's answer preferred), kept across rounds: it
   * defines the cluster even when this round's list calls failed or came from a seed that is no member.
   */
  readonly memberList?: { readonly at: number; readonly members: readonly MemberListEntry[] };
  readonly members: readonly MemberSnapshot[];
}
