import { parseDurationMs } from '../util/duration.js';
import { parseEndpoint } from '../util/endpoint.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../util/logger.js';

/** Turns one raw value (flag string, env string or YAML scalar) into a typed value, or throws a message. */
type Parser<T> = (raw: unknown) => T;

/** One setting: its flag name is the single source for the env variable and the YAML key. */
export interface FieldSpec<T = unknown> {
  readonly flag: string;
  readonly doc: string;
  readonly defaultValue: T;
  readonly parse: Parser<T>;
  /** Cluster-scoped settings may also appear inside each `clusters[]` entry of the YAML file. */
  readonly perCluster?: boolean;
  /** `duration` values are milliseconds; `--help` shows them as the config accepts them (`30s`, `5m`). */
  readonly kind: 'string' | 'number' | 'boolean' | 'list' | 'duration';
  /** What `--help` shows as the default when it is computed rather than a value (e.g. from $HOSTNAME). */
  readonly defaultText?: string;
}

const text = (raw: unknown): string => {
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  if (typeof raw !== 'string') throw new Error(`expected a string, got ${describe(raw)}`);
  return raw;
};

const duration: Parser<number> = (raw) => {
  const ms = parseDurationMs(typeof raw === 'number' ? raw : text(raw));
  if (ms <= 0) throw new Error('must be greater than zero');
  return ms;
};

/** A duration, or 0 / "off" to disable the feature it schedules. */
const durationOrOff: Parser<number> = (raw) => {
  if (
    raw === 0 ||
    raw === false ||
    (typeof raw === 'string' && ['0', 'off'].includes(raw.trim().toLowerCase()))
  )
    return 0;
  return duration(raw);
};

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw) => {
    const value = typeof raw === 'number' ? raw : Number(text(raw).trim());
    if (!Number.isInteger(value)) throw new Error(`expected a whole number, got ${describe(raw)}`);
    if (value < min || value > max) throw new Error(`must be between ${min} and ${max}, got ${value}`);
    return value;
  };

const boolean: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  const value = text(raw).trim().toLowerCase();
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new Error(`expected true or false, got ${describe(raw)}`);
};

const list: Parser<string[]> = (raw) => {
  const items = Array.isArray(raw) ? raw.map(text) : text(raw).split(',');
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
};

const endpoints: Parser<string[]> = (raw) => {
  const items = list(raw);
  if (items.length === 0) throw new Error('needs at least one endpoint');
  // Bare host:port is http (as documented on the flag), TLS files or not: the scheme says what is dialled.
  return items.map((item) => parseEndpoint(item, { scheme: 'http', requirePort: true }).url);
};

const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw) => {
    const value = text(raw).trim() as T;
    if (!values.includes(value)) throw new Error(`must be one of ${values.join(', ')}, got "${value}"`);
    return value;
  };

/**
 * Splits a comma-separated list of regular expressions at the commas that separate them, not those
 * inside a pattern (`{1,3}`, `[,;]`, `(a|,)`, `\,`): `^a{1,3}$,^b$` is two patterns.
 */
export function splitRegexList(value: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(' || c === '{') depth++;
    else if ((c === ')' || c === '}') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      items.push(value.slice(start, i));
      start = i + 1;
    }
  }
  items.push(value.slice(start));
  return items;
}

const regexList: Parser<string[]> = (raw) => {
  const items = (Array.isArray(raw) ? raw.map(text) : splitRegexList(text(raw)))
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  for (const item of items) {
    try {
      new RegExp(item);
    } catch {
      throw new Error(`"${item}" is not a valid regular expression`);
    }
  }
  return items;
};

const nonEmpty: Parser<string> = (raw) => {
  const value = text(raw).trim();
  if (!value) throw new Error('must not be empty');
  return value;
};

const labelValue: Parser<string> = (raw) => {
  const value = nonEmpty(raw);
  if (!/^[A-Za-z0-9_.:-]+$/.test(value))
    throw new Error(`"${value}" may only contain letters, digits, _ . : -`);
  return value;
};

function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  return JSON.stringify(raw);
}

/**
 * TTL of the lease each read/write probe grants and hangs its key on (one key per member). It bounds how
 * long a probe key outlives an exporter that crashed or was stopped: at most 60 s, so nothing accumulates
 * under --probe-prefix. Every probe grants a fresh lease, so at the default --health-check-interval of
 * 30 s about two probe leases per member are alive at any time; 60 s is also far above the probe's own
 * write + read (each bounded by --request-timeout, 3 s by default), so the key never expires mid-probe.
 */
export const PROBE_LEASE_TTL_SECONDS = 60;

/** Every setting of the exporter, with its default. Order is the order of `--help`. */
export const FIELDS = {
  endpoints: {
    flag: 'endpoints',
    doc: 'Comma-separated etcd client URLs of one cluster (host:port defaults to http)',
    defaultValue: ['http://127.0.0.1:2379'],
    parse: endpoints,
    perCluster: true,
    kind: 'list',
  },
  clusterName: {
    flag: 'cluster-name',
    doc: 'Value of the cluster label for the cluster given by --endpoints',
    defaultValue: 'default',
    parse: labelValue,
    kind: 'string',
  },
  expectedMembers: {
    flag: 'expected-members',
    doc: 'Number of voting members the cluster should have (0 = whatever the member list says)',
    defaultValue: 0,
    parse: integer(0, 99),
    perCluster: true,
    kind: 'number',
  },
  discoverMembers: {
    flag: 'discover-members',
    doc: 'Treat --endpoints as seeds: watch every member of the member list through its advertised client URLs (false: only the endpoints given)',
    defaultValue: true,
    parse: boolean,
    perCluster: true,
    kind: 'boolean',
  },
  dialTimeout: {
    flag: 'dial-timeout',
    doc: 'Timeout for connecting to a member',
    defaultValue: 5000,
    parse: duration,
    kind: 'duration',
  },
  requestTimeout: {
    flag: 'request-timeout',
    doc: 'Deadline for each request to one member; a hung member costs at most this much',
    defaultValue: 3000,
    parse: duration,
    kind: 'duration',
  },
  cert: {
    flag: 'cert',
    doc: 'Client certificate file for TLS to etcd',
    defaultValue: '',
    parse: text,
    perCluster: true,
    kind: 'string',
  },
  key: {
    flag: 'key',
    doc: 'Client private key file for TLS to etcd',
    defaultValue: '',
    parse: text,
    perCluster: true,
    kind: 'string',
  },
  cacert: {
    flag: 'cacert',
    doc: 'CA bundle that signed the etcd server certificates',
    defaultValue: '',
    parse: text,
    perCluster: true,
    kind: 'string',
  },
  user: {
    flag: 'user',
    doc: 'etcd user for clusters with authentication enabled (needs --password-file)',
    defaultValue: '',
    parse: text,
    perCluster: true,
    kind: 'string',
  },
  passwordFile: {
    flag: 'password-file',
    doc: "File holding the etcd user's password (e.g. a Kubernetes secret mount); never logged",
    defaultValue: '',
    parse: text,
    perCluster: true,
    kind: 'string',
  },
  healthCheckInterval: {
    flag: 'health-check-interval',
    doc: 'How often member health, quorum and the read/write probe are checked',
    defaultValue: 30_000,
    parse: duration,
    kind: 'duration',
  },
  metricsInterval: {
    flag: 'metrics-interval',
    doc: "How often each member's /metrics, status, member list and alarms are collected",
    defaultValue: 10_000,
    parse: duration,
    kind: 'duration',
  },
  hashkvInterval: {
    flag: 'hashkv-interval',
    doc: "How often members' HashKV at a common revision is compared to catch silent divergence (0 or off disables; it scans the whole history)",
    defaultValue: 300_000,
    parse: durationOrOff,
    kind: 'duration',
  },
  maxLatencyMs: {
    flag: 'max-latency-ms',
    doc: 'Probe latency above this many milliseconds is reported as too slow',
    defaultValue: 100,
    parse: integer(1, 600_000),
    perCluster: true,
    kind: 'number',
  },
  maxDbSizeMb: {
    flag: 'max-db-size-mb',
    doc: 'Database size in MiB above which a member is reported as too large',
    defaultValue: 8192,
    parse: integer(1, 1_048_576),
    perCluster: true,
    kind: 'number',
  },
  minAvailableNodes: {
    flag: 'min-available-nodes',
    doc: 'Fewer healthy voting members than this is reported',
    defaultValue: 2,
    parse: integer(1, 99),
    perCluster: true,
    kind: 'number',
  },
  maxLeaderChanges: {
    flag: 'max-leader-changes',
    doc: 'More leader changes than this within one hour is reported',
    defaultValue: 3,
    parse: integer(0, 1_000_000),
    perCluster: true,
    kind: 'number',
  },
  apiHost: {
    flag: 'api-host',
    doc: 'Address the HTTP server (metrics and REST API) listens on',
    defaultValue: '0.0.0.0',
    parse: nonEmpty,
    kind: 'string',
  },
  apiPort: {
    flag: 'api-port',
    doc: 'Port of the HTTP server (0 picks a free port)',
    defaultValue: 8080,
    parse: integer(0, 65_535),
    kind: 'number',
  },
  logLevel: {
    flag: 'log-level',
    doc: 'Log level',
    defaultValue: 'info' as LogLevel,
    parse: oneOf(LOG_LEVELS),
    kind: 'string',
  },
  logFormat: {
    flag: 'log-format',
    doc: 'json (one object per line) or pretty (human-readable)',
    defaultValue: 'json' as LogFormat,
    parse: oneOf(LOG_FORMATS),
    kind: 'string',
  },
  probe: {
    flag: 'probe',
    doc: 'Run the active read/write probe (disable with --no-probe for read-only credentials)',
    defaultValue: true,
    parse: boolean,
    kind: 'boolean',
  },
  probePrefix: {
    flag: 'probe-prefix',
    doc: 'Key prefix for the probe; its keys live on a short lease so nothing accumulates',
    defaultValue: '/etcd-monitor/probe/',
    parse: nonEmpty,
    kind: 'string',
  },
  reexpose: {
    flag: 'reexpose',
    doc: "Re-expose each member's own etcd series with cluster and member labels",
    defaultValue: true,
    parse: boolean,
    kind: 'boolean',
  },
  reexposeAllow: {
    flag: 'reexpose-allow',
    doc: 'Comma-separated regular expressions (commas inside {}, [] or () belong to the pattern); member series whose name matches one are re-exposed',
    // etcd_debugging_* is unstable and partly mis-named (milliseconds, histograms named _total): only
    // the handful that dashboards chart are re-exposed by default.
    defaultValue: [
      '^etcd_(server|disk|network|mvcc|cluster|snap)_',
      '^etcd_debugging_mvcc_(keys_total|watcher_total|slow_watcher_total|watch_stream_total|current_revision|compact_revision|pending_events_total)$',
      '^etcd_debugging_snap_save_total_duration_seconds$',
      '^grpc_server_',
      '^process_',
      '^os_fd_',
    ],
    parse: regexList,
    kind: 'list',
  },
  reexposeMaxSeries: {
    flag: 'reexpose-max-series',
    doc: "Most series re-exposed from one member (as Prometheus' sample_limit): a member over it has none re-exposed, its derived series stay, and etcd_monitor_reexpose_dropped says so (0 = no cap)",
    // A real etcd 3.4 member has ≈380 re-exposed series (src/expose/reexpose.ts DEFAULT_REEXPOSE_MAX_SERIES).
    defaultValue: 10_000,
    parse: integer(0),
    perCluster: true,
    kind: 'number',
  },
  webMaxConnections: {
    flag: 'web.max-connections',
    doc: "Most open connections to the exporter's HTTP server, as Prometheus' flag; over it the oldest idle one is closed (0 = no cap)",
    defaultValue: 512,
    parse: integer(0),
    kind: 'number',
  },
  webConfigFile: {
    flag: 'web.config.file',
    doc: 'Web config in Prometheus exporter-toolkit format (TLS, basic auth) plus etcd_monitor tokens and roles; without it the HTTP server is plain and open',
    defaultValue: '',
    parse: text,
    kind: 'string',
  },
  webEnableBenchmarkApi: {
    flag: 'web.enable-benchmark-api',
    doc: "Serve the benchmark API (/api/v1/performance/*), which writes to the cluster; off by default like Prometheus' --web.enable-admin-api (with auth configured it also needs the operator role)",
    defaultValue: false,
    parse: boolean,
    kind: 'boolean',
  },
  prometheusUrl: {
    flag: 'prometheus-url',
    doc: 'Prometheus base URL that answers /api/v1/metrics/history range queries (unset: that endpoint answers 503)',
    defaultValue: '',
    parse: text,
    kind: 'string',
  },
  corsOrigin: {
    flag: 'cors-origin',
    doc: 'Comma-separated origins allowed to call the API from a browser ("*" for any); none by default',
    defaultValue: [] as string[],
    parse: list,
    kind: 'list',
  },
  dataDir: {
    flag: 'data-dir',
    doc: 'Directory for alert history and benchmark results',
    defaultValue: './data',
    parse: nonEmpty,
    kind: 'string',
  },
  shardCount: {
    flag: 'shard-count',
    doc: "Replicas the configured clusters are spread over: this one watches and serves only the clusters whose name hashes to --shard-index (Prometheus' hashmod: md5, last 8 bytes, mod the count); 1 = no sharding",
    defaultValue: 1,
    parse: integer(1, 1000),
    kind: 'number',
  },
  shardIndex: {
    flag: 'shard-index',
    doc: 'Which of the --shard-count replicas this is, 0 to count-1',
    // Unset: a StatefulSet pod's ordinal, the trailing -<n> of its hostname (src/config/shard.ts).
    defaultValue: undefined as number | undefined,
    defaultText: 'the ordinal of $HOSTNAME (pod-<n>) when --shard-count > 1',
    parse: integer(0, 999),
    kind: 'number',
  },
  alertsResolveTimeout: {
    flag: 'alerts.resolve-timeout',
    doc: "A firing alert that Alertmanager has not re-sent to the webhook for this long is no longer listed as firing (as Alertmanager's resolve_timeout); keep it above the receiver's repeat_interval + group_interval",
    defaultValue: 5 * 60_000,
    parse: duration,
    kind: 'duration',
  },
} satisfies Record<string, FieldSpec<unknown>>;

export type FieldName = keyof typeof FIELDS;
export type FieldValues = { -readonly [K in FieldName]: ReturnType<(typeof FIELDS)[K]['parse']> };

/** Settings marked `perCluster`: a `clusters[]` entry may set them (by their YAML key) for itself. */
export type PerClusterField = {
  [K in FieldName]: (typeof FIELDS)[K] extends { perCluster: true } ? K : never;
}[FieldName];
export const PER_CLUSTER_FIELDS = (Object.keys(FIELDS) as FieldName[]).filter(
  (name): name is PerClusterField => (FIELDS[name] as FieldSpec).perCluster === true,
);

/**
 * Keys only a `clusters[]` entry has: `name` (its cluster label, parsed as --cluster-name) and `tags`
 * (extra labels of etcd_monitor_cluster_info). With the per-cluster fields they are the keys of an entry.
 */
export const CLUSTER_ONLY_KEYS = ['name', 'tags'] as const;

/** Environment variable of a setting: ETCD_MONITOR_ + flag in upper snake case. */
export const envName = (flag: string): string => `ETCD_MONITOR_${flag.toUpperCase().replace(/[-.]/g, '_')}`;

/** YAML key of a setting: the flag in snake case. */
export const yamlKey = (flag: string): string => flag.replace(/[-.]/g, '_');
