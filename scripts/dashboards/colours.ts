import type { Threshold, ValueMap } from './spec.js';

// How values are coloured: value mappings show 0/1 series as words coloured by whether the value is good;
// thresholds colour numbers.

/** For 0/1 check results: 1 passed. */
export const OK_BAD: ValueMap[] = [
  { value: 1, text: 'OK', color: 'green' },
  { value: 0, text: 'FAILING', color: 'red' },
];

/** For 0/1 problem flags: 0 is good. */
export const NO_YES: ValueMap[] = [
  { value: 0, text: 'No', color: 'green' },
  { value: 1, text: 'YES', color: 'red' },
];

/** For 0/1 conditions where 1 is good. */
export const YES_NO: ValueMap[] = [
  { value: 1, text: 'Yes', color: 'green' },
  { value: 0, text: 'NO', color: 'red' },
];

// Thresholds drawn from etcd's documentation and the exporter's defaults (max-latency-ms 100,
// max-leader-changes 3/hour), so the colours agree with what the exporter and alert rules report.
/** Probe latency: red at the exporter's --max-latency-ms default (100 ms). */
export const LATENCY_PROBE: Threshold[] = [
  [null, 'green'],
  [0.05, 'yellow'],
  [0.1, 'red'],
];
/** WAL fsync: etcd recommends a p99 below 10 ms. */
export const WAL_FSYNC: Threshold[] = [
  [null, 'green'],
  [0.01, 'yellow'],
  [0.05, 'red'],
];
/** bbolt backend commit: etcd recommends a p99 below 25 ms. */
export const BACKEND_COMMIT: Threshold[] = [
  [null, 'green'],
  [0.025, 'yellow'],
  [0.125, 'red'],
];
export const PEER_RTT: Threshold[] = [
  [null, 'green'],
  [0.05, 'yellow'],
  [0.15, 'red'],
];
/** Share of a limit used (quota, file descriptors). */
export const RATIO_USAGE: Threshold[] = [
  [null, 'green'],
  [0.8, 'yellow'],
  [0.9, 'red'],
];
/** Committed but unapplied raft entries; etcd keeps this within a few thousand even under load. */
export const APPLY_LAG: Threshold[] = [
  [null, 'green'],
  [1000, 'yellow'],
  [5000, 'red'],
];
