/**
 * Bounds and fields of an API-started benchmark run. Kept apart from the route so the OpenAPI document can
 * state the same numbers without loading the benchmark engine at exporter start-up.
 */
export const API_LIMITS = {
  maxOps: 100_000,
  maxDurationMs: 60_000,
  maxClients: 256,
  maxConns: 64,
  maxKeySize: 1024,
  maxKeySpace: 100_000,
  maxValSize: 64 * 1024,
  maxPrefixBytes: 256,
} as const;

/** Fields a POST /performance/benchmark body may carry; all optional. */
export const BODY_FIELDS: ReadonlySet<string> = new Set([
  'type',
  'ops',
  'durationSeconds',
  'clients',
  'conns',
  'keySize',
  'valSize',
  'keySpace',
  'consistency',
  'rate',
  'cluster',
  'prefix',
  'compact',
]);
