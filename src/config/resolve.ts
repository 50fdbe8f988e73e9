import { accessSync, constants, readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { ConfigError } from '../util/errors.js';
import {
  CLUSTER_ONLY_KEYS,
  FIELDS,
  PER_CLUSTER_FIELDS,
  PROBE_LEASE_TTL_SECONDS,
  envName,
  yamlKey,
  type FieldName,
  type FieldSpec,
  type FieldValues,
  type PerClusterField,
} from './fields.js';
import { clustersOfShard, resolveShard } from './shard.js';
import type { ClusterConfig, MonitorConfig, Thresholds, TlsFiles } from './types.js';

/** Raw inputs of configuration, kept apart so precedence (flags > environment > file > defaults) is testable. */
export interface ConfigSources {
  /** Flags as parsed from the command line; only flags the user actually gave may be present. */
  readonly flags?: Readonly<Record<string, unknown>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of the YAML file (from --config or ETCD_MONITOR_CONFIG); read here. */
  readonly configFile?: string;
}

/** Threshold settings; each may also be set per cluster (clusters[].max_db_size_mb, …). */
const THRESHOLD_FIELDS = ['maxLatencyMs', 'maxDbSizeMb', 'minAvailableNodes', 'maxLeaderChanges'] as const;
type ThresholdValues = Pick<FieldValues, (typeof THRESHOLD_FIELDS)[number]>;

/** Keys a `clusters[]` entry may have: its name, its tags and the YAML keys of the perCluster fields. */
const CLUSTER_KEYS = new Set<string>([
  ...CLUSTER_ONLY_KEYS,
  ...PER_CLUSTER_FIELDS.map((name) => yamlKey(FIELDS[name].flag)),
]);
const FIELD_BY_YAML_KEY = new Map(
  (Object.entries(FIELDS) as [FieldName, FieldSpec][]).map(([name, spec]) => [yamlKey(spec.flag), name]),
);

/** Loads, merges and validates configuration; throws ConfigError naming the offending field. */
export function resolveConfig(sources: ConfigSources): MonitorConfig {
  const flags = sources.flags ?? {};
  const env = sources.env ?? {};
  const configFile = pickString(flags['config']) ?? pickString(env['ETCD_MONITOR_CONFIG']);
  const file = configFile ? readConfigFile(configFile) : {};
  const fileLabel = configFile ?? 'config file';

  const values = {} as FieldValues;
  const origin = {} as Record<FieldName, 'flag' | 'env' | 'file' | 'default'>;
  for (const [name, spec] of Object.entries(FIELDS) as [FieldName, FieldSpec][]) {
    const envKey = envName(spec.flag);
    const fileKey = yamlKey(spec.flag);
    let raw: unknown;
    let where: string;
    if (flags[spec.flag] !== undefined) {
      raw = flags[spec.flag];
      where = `--${spec.flag}`;
      origin[name] = 'flag';
    } else if (env[envKey] !== undefined && env[envKey] !== '') {
      raw = env[envKey];
      where = envKey;
      origin[name] = 'env';
    } else if (file[fileKey] !== undefined) {
      raw = file[fileKey];
      where = `${fileLabel}: ${fileKey}`;
      origin[name] = 'file';
    } else {
      (values as Record<string, unknown>)[name] = spec.defaultValue;
      origin[name] = 'default';
      continue;
    }
    (values as Record<string, unknown>)[name] = parseField(spec, raw, where);
  }

  const indexWhere = {
    flag: '--shard-index',
    env: envName(FIELDS.shardIndex.flag),
    file: `${fileLabel}: ${yamlKey(FIELDS.shardIndex.flag)}`,
    default: '--shard-index',
  }[origin.shardIndex];
  const shard = resolveShard(values.shardCount, values.shardIndex, env['HOSTNAME'], indexWhere);
  // Sharding is decided here, once: the monitor is simply given fewer clusters (maybe none, which is a
  // healthy replica with nothing to watch), so collection, derivation and exposition know nothing of it.
  const clusters = clustersOfShard(resolveClusters(values, origin, file, fileLabel), shard);
  return Object.freeze({
    clusters,
    shard,
    dialTimeoutMs: values.dialTimeout,
    requestTimeoutMs: values.requestTimeout,
    healthCheckIntervalMs: values.healthCheckInterval,
    metricsIntervalMs: values.metricsInterval,
    hashkvIntervalMs: values.hashkvInterval,
    api: Object.freeze({
      host: values.apiHost,
      port: values.apiPort,
      ...(values.webConfigFile ? { webConfigFile: values.webConfigFile } : {}),
      corsOrigins: Object.freeze([...values.corsOrigin]),
      enableBenchmarkApi: values.webEnableBenchmarkApi,
      maxConnections: values.webMaxConnections,
      ...(values.prometheusUrl ? { prometheusUrl: values.prometheusUrl } : {}),
    }),
    log: Object.freeze({ level: values.logLevel, format: values.logFormat }),
    probe: Object.freeze({
      enabled: values.probe,
      prefix: values.probePrefix,
      leaseTtlSeconds: PROBE_LEASE_TTL_SECONDS,
    }),
    reexpose: Object.freeze({
      enabled: values.reexpose,
      allow: Object.freeze(values.reexposeAllow.map((pattern) => new RegExp(pattern))),
      maxSeries: noCapAtZero(values.reexposeMaxSeries),
    }),
    dataDir: values.dataDir,
    alerts: Object.freeze({ resolveTimeoutMs: values.alertsResolveTimeout }),
  });
}

function parseField(spec: FieldSpec, raw: unknown, where: string): unknown {
  try {
    return spec.parse(raw);
  } catch (err) {
    throw new ConfigError(where, (err as Error).message, { cause: err });
  }
}

function pickString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function readConfigFile(path: string): Record<string, unknown> {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed = yaml.load(source, { filename: path });
  } catch (err) {
    throw new ConfigError(path, `not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (parsed === undefined || parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(path, 'the top level must be a mapping of settings');
  }
  const record = parsed as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'clusters' && !FIELD_BY_YAML_KEY.has(key)) {
      throw new ConfigError(
        `${path}: ${key}`,
        `unknown setting (known: clusters, ${[...FIELD_BY_YAML_KEY.keys()].join(', ')})`,
      );
    }
  }
  return record;
}

function resolveClusters(
  values: FieldValues,
  origin: Record<FieldName, string>,
  file: Record<string, unknown>,
  fileLabel: string,
): readonly ClusterConfig[] {
  const globalTls = tlsFrom(values.cert, values.key, values.cacert, '--');
  const globalAuth = authFrom(values.user, values.passwordFile, '--');
  const fromFlags = origin.endpoints === 'flag' || origin.endpoints === 'env';
  if (!fromFlags && file['clusters'] !== undefined) {
    if (origin.endpoints === 'file') {
      throw new ConfigError(
        `${fileLabel}: endpoints`,
        'give either top-level endpoints or clusters, not both',
      );
    }
    return parseFileClusters(file['clusters'], fileLabel, globalTls, globalAuth, values);
  }
  const cluster: ClusterConfig = {
    name: values.clusterName,
    endpoints: Object.freeze([...values.endpoints]),
    ...(globalTls ? { tls: globalTls } : {}),
    ...(globalAuth ? { auth: globalAuth } : {}),
    tags: Object.freeze({}),
    ...(values.expectedMembers > 0 ? { expectedMembers: values.expectedMembers } : {}),
    discoverMembers: values.discoverMembers,
    thresholds: thresholdsOf(values),
  };
  return Object.freeze([Object.freeze(cluster)]);
}

function parseFileClusters(
  raw: unknown,
  fileLabel: string,
  globalTls: TlsFiles | undefined,
  globalAuth: ClusterConfig['auth'],
  globals: FieldValues,
): readonly ClusterConfig[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ConfigError(`${fileLabel}: clusters`, 'must be a non-empty list of clusters');
  }
  const names = new Set<string>();
  const clusters = raw.map((entry, index): ClusterConfig => {
    const at = `${fileLabel}: clusters[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(at, 'must be a mapping with name and endpoints');
    }
    const record = entry as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!CLUSTER_KEYS.has(key)) {
        throw new ConfigError(`${at}.${key}`, `unknown setting (known: ${[...CLUSTER_KEYS].join(', ')})`);
      }
    }
    if (record['name'] === undefined) throw new ConfigError(`${at}.name`, 'is required');
    const name = parseField(FIELDS.clusterName, record['name'], `${at}.name`) as string;
    if (names.has(name)) throw new ConfigError(`${at}.name`, `duplicate cluster name "${name}"`);
    names.add(name);
    /** This entry's own value of a perCluster field, parsed by that field's parser; undefined if unset. */
    const own = <K extends PerClusterField>(field: K): FieldValues[K] | undefined => {
      const key = yamlKey(FIELDS[field].flag);
      if (record[key] === undefined) return undefined;
      return parseField(FIELDS[field], record[key], `${at}.${key}`) as FieldValues[K];
    };
    const endpoints = own('endpoints');
    if (endpoints === undefined) throw new ConfigError(`${at}.endpoints`, 'is required');
    // An entry with any TLS file or credential of its own uses only its own, never a mix with the globals.
    const tls = tlsFrom(own('cert') ?? '', own('key') ?? '', own('cacert') ?? '', `${at}.`) ?? globalTls;
    const expected = own('expectedMembers') ?? globals.expectedMembers;
    const auth = authFrom(own('user') ?? '', own('passwordFile') ?? '', `${at}.`) ?? globalAuth;
    const tags = parseTags(record['tags'], `${at}.tags`);
    const discoverMembers = own('discoverMembers') ?? globals.discoverMembers;
    const thresholds = Object.fromEntries(
      THRESHOLD_FIELDS.map((field) => [field, own(field) ?? globals[field]]),
    ) as ThresholdValues;
    const reexposeMaxSeries = own('reexposeMaxSeries');
    return Object.freeze({
      name,
      endpoints: Object.freeze(endpoints),
      ...(tls ? { tls } : {}),
      ...(auth ? { auth } : {}),
      tags: Object.freeze(tags),
      ...(expected > 0 ? { expectedMembers: expected } : {}),
      discoverMembers,
      thresholds: thresholdsOf(thresholds),
      ...(reexposeMaxSeries === undefined ? {} : { reexposeMaxSeries: noCapAtZero(reexposeMaxSeries) }),
    });
  });
  return Object.freeze(clusters);
}

/** A cap of 0 means none. */
const noCapAtZero = (cap: number): number => (cap === 0 ? Infinity : cap);

function thresholdsOf(values: ThresholdValues): Thresholds {
  return Object.freeze({
    maxLatencyMs: values.maxLatencyMs,
    maxDbSizeBytes: values.maxDbSizeMb * 1024 * 1024,
    minAvailableNodes: values.minAvailableNodes,
    maxLeaderChangesPerHour: values.maxLeaderChanges,
  });
}

function parseTags(raw: unknown, where: string): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(where, 'must be a mapping of tag names to values');
  }
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key) || key.startsWith('__')) {
      throw new ConfigError(`${where}.${key}`, 'tag names must be valid Prometheus label names');
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(`${where}.${key}`, 'tag values must be scalars');
    }
    tags[key] = String(value);
  }
  return tags;
}

function authFrom(user: string, passwordFile: string, prefix: string): ClusterConfig['auth'] {
  if (!user && !passwordFile) return undefined;
  if (!user) throw new ConfigError(`${prefix}user`, 'a password file needs a user');
  if (!passwordFile)
    throw new ConfigError(
      `${prefix}${prefix === '--' ? 'password-file' : 'password_file'}`,
      `user ${user} needs a password file`,
    );
  try {
    accessSync(passwordFile, constants.R_OK);
  } catch {
    throw new ConfigError(
      `${prefix}${prefix === '--' ? 'password-file' : 'password_file'}`,
      `cannot read file ${passwordFile}`,
    );
  }
  return Object.freeze({ username: user, passwordFile });
}

function tlsFrom(cert: string, key: string, cacert: string, prefix: string): TlsFiles | undefined {
  if (!cert && !key && !cacert) return undefined;
  if (Boolean(cert) !== Boolean(key)) {
    throw new ConfigError(`${prefix}${cert ? 'key' : 'cert'}`, 'cert and key must be given together');
  }
  for (const [field, path] of [
    ['cert', cert],
    ['key', key],
    ['cacert', cacert],
  ] as const) {
    if (!path) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch {
      throw new ConfigError(`${prefix}${field}`, `cannot read file ${path}`);
    }
  }
  return Object.freeze({
    ...(cert ? { certFile: cert } : {}),
    ...(key ? { keyFile: key } : {}),
    ...(cacert ? { caFile: cacert } : {}),
  });
}
