import type { MemberListEntry } from '../etcd/types.js';
import type { CollectorName, SourceValue } from './sources.js';

export { COLLECTORS, type CollectorName } from './sources.js';

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

/** Each source's latest result against one member, typed by what its `run` answers (SOURCES). */
export type SourceResults = { readonly [K in CollectorName]?: CollectorResult<SourceValue<K>> };

/** Everything collected from one configured endpoint; a collector that has not run yet is absent. */
export interface MemberSnapshot extends SourceResults {
  /** Client URL the exporter talks to: the member's advertised URL, or a configured endpoint. */
  readonly endpoint: string;
  /** True when the endpoint came from the member list and is not one of the configured `--endpoints`. */
  readonly discovered?: boolean;
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
