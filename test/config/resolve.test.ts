import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FIELDS, envName, yamlKey, type FieldName } from '../../src/config/fields.js';
import { resolveConfig, type ConfigSources } from '../../src/config/resolve.js';
import type { MonitorConfig } from '../../src/config/types.js';
import { ConfigError } from '../../src/util/errors.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes a YAML file into the temp dir and returns its path. */
function yamlFile(text: string): string {
  const file = path.join(dir, `config-${++fileCount}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** A readable file (the loader only checks that TLS files can be read; etcd reads their content). */
function readable(name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `placeholder for ${name}\n`);
  return file;
}

/** Thresholds of a cluster that sets none, with no flags: the FIELDS defaults in base units. */
const DEFAULT_THRESHOLDS = {
  maxLatencyMs: 100,
  maxDbSizeBytes: 8192 * 2 ** 20,
  minAvailableNodes: 2,
  maxLeaderChangesPerHour: 3,
};

/** The ConfigError resolveConfig throws for these sources. */
function configError(sources: ConfigSources): ConfigError {
  try {
    resolveConfig(sources);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('resolveConfig accepted the configuration');
}

describe('resolveConfig precedence: flags > env > file > defaults', () => {
  // One row per field: what each source says, and how the value reads in MonitorConfig.
  const ROWS: [FieldName, string, string, string, (c: MonitorConfig) => unknown, unknown[]][] = [
    // field, flag, env, file (YAML scalar), read, [expected from flag, env, file, default]
    [
      'maxLatencyMs',
      '250',
      '150',
      '120',
      (c) => c.clusters[0]?.thresholds.maxLatencyMs,
      [250, 150, 120, 100],
    ],
    ['apiPort', '9101', '9102', '9103', (c) => c.api.port, [9101, 9102, 9103, 8080]],
    ['metricsInterval', '5s', '1m', '15', (c) => c.metricsIntervalMs, [5000, 60_000, 15_000, 10_000]],
    ['logLevel', 'debug', 'warn', 'error', (c) => c.log.level, ['debug', 'warn', 'error', 'info']],
    ['probe', 'false', 'no', 'false', (c) => c.probe.enabled, [false, false, false, true]],
    [
      'maxDbSizeMb',
      '100',
      '200',
      '300',
      (c) => c.clusters[0]?.thresholds.maxDbSizeBytes,
      [100 * 2 ** 20, 200 * 2 ** 20, 300 * 2 ** 20, 8192 * 2 ** 20],
    ],
    [
      'endpoints',
      '127.0.0.1:1111',
      'http://127.0.0.1:2222',
      '[https://127.0.0.1:3333]',
      (c) => c.clusters[0]?.endpoints,
      [
        ['http://127.0.0.1:1111'],
        ['http://127.0.0.1:2222'],
        ['https://127.0.0.1:3333'],
        ['http://127.0.0.1:2379'],
      ],
    ],
  ];

  it.each(ROWS)('%s', (field, flag, env, fileValue, read, [fromFlag, fromEnv, fromFile, fromDefault]) => {
    const spec = FIELDS[field];
    const file = yamlFile(`${yamlKey(spec.flag)}: ${fileValue}\n`);
    const flags = { config: file, [spec.flag]: flag };
    const environment = { [envName(spec.flag)]: env };
    expect(read(resolveConfig({ flags, env: environment }))).toEqual(fromFlag);
    expect(read(resolveConfig({ flags: { config: file }, env: environment }))).toEqual(fromEnv);
    expect(read(resolveConfig({ flags: { config: file }, env: {} }))).toEqual(fromFile);
    expect(read(resolveConfig({}))).toEqual(fromDefault);
  });

  it('an empty environment variable counts as unset', () => {
    const file = yamlFile('api_port: 9200\n');
    expect(resolveConfig({ flags: { config: file }, env: { ETCD_MONITOR_API_PORT: '' } }).api.port).toBe(
      9200,
    );
  });

  it('ETCD_MONITOR_CONFIG names the file when --config is absent', () => {
    const file = yamlFile('max_leader_changes: 7\n');
    expect(
      resolveConfig({ env: { ETCD_MONITOR_CONFIG: file } }).clusters[0]?.thresholds.maxLeaderChangesPerHour,
    ).toBe(7);
  });

  it('defaults match the FIELDS table', () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({
      clusters: [
        {
          name: 'default',
          endpoints: ['http://127.0.0.1:2379'],
          tags: {},
          thresholds: DEFAULT_THRESHOLDS,
        },
      ],
      dialTimeoutMs: 5000,
      requestTimeoutMs: 3000,
      healthCheckIntervalMs: 30_000,
      metricsIntervalMs: 10_000,
      api: { host: '0.0.0.0', port: 8080 },
      log: { level: 'info', format: 'json' },
      probe: { enabled: true, prefix: '/etcd-monitor/probe/' },
      dataDir: './data',
    });
    expect(c.reexpose.allow.map((re) => re.source)).toEqual(FIELDS.reexposeAllow.defaultValue);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['^a{1,3}$,^b$', ['^a{1,3}$', '^b$']],
    ['^x[,;]y$, ^z$', ['^x[,;]y$', '^z$']],
    ['^(a|,)$,^c\\,d$', ['^(a|,)$', '^c\\,d$']],
    ['^etcd_server_,^grpc_server_', ['^etcd_server_', '^grpc_server_']],
  ])('--reexpose-allow %s: split only at commas between patterns', (flag, expected) => {
    const c = resolveConfig({ flags: { endpoints: '127.0.0.1:2379', 'reexpose-allow': flag }, env: {} });
    expect(c.reexpose.allow.map((re) => re.source)).toEqual(expected);
  });

  it('--endpoints on the command line replaces the clusters of the file', () => {
    const file = yamlFile('clusters:\n  - name: a\n    endpoints: [127.0.0.1:2379]\n');
    const c = resolveConfig({ flags: { config: file, endpoints: '127.0.0.1:3379', 'cluster-name': 'cli' } });
    expect(c.clusters).toEqual([
      {
        name: 'cli',
        endpoints: ['http://127.0.0.1:3379'],
        tags: {},
        discoverMembers: true,
        thresholds: DEFAULT_THRESHOLDS,
      },
    ]);
  });
});

describe('resolveConfig errors name the field as the user wrote it', () => {
  it.each<[string, () => ConfigSources, string, RegExp]>([
    ['a flag', () => ({ flags: { 'max-latency-ms': 'abc' } }), '--max-latency-ms', /whole number, got "abc"/],
    [
      'a negative flag',
      () => ({ flags: { 'min-available-nodes': '0' } }),
      '--min-available-nodes',
      /between 1 and 99/,
    ],
    [
      'a bad duration flag',
      () => ({ flags: { 'dial-timeout': '5 sec' } }),
      '--dial-timeout',
      /not a valid duration/,
    ],
    [
      'a zero duration',
      () => ({ flags: { 'metrics-interval': '0s' } }),
      '--metrics-interval',
      /greater than zero/,
    ],
    [
      'an env variable',
      () => ({ env: { ETCD_MONITOR_API_PORT: '99999' } }),
      'ETCD_MONITOR_API_PORT',
      /between 0 and 65535/,
    ],
    [
      'an env boolean',
      () => ({ env: { ETCD_MONITOR_PROBE: 'maybe' } }),
      'ETCD_MONITOR_PROBE',
      /true or false/,
    ],
    ['an enum', () => ({ flags: { 'log-format': 'xml' } }), '--log-format', /json, pretty/],
    [
      'a bad regular expression',
      () => ({ flags: { 'reexpose-allow': '^etcd_(' } }),
      '--reexpose-allow',
      /regular expression/,
    ],
    [
      'a bad cluster name',
      () => ({ flags: { 'cluster-name': 'prod east' } }),
      '--cluster-name',
      /may only contain/,
    ],
    [
      'endpoints without a port',
      () => ({ flags: { endpoints: 'http://10.0.0.1' } }),
      '--endpoints',
      /needs a port/,
    ],
    [
      'endpoints with another scheme',
      () => ({ flags: { endpoints: 'unix:///run/etcd.sock' } }),
      '--endpoints',
      /http or https/,
    ],
    ['empty endpoints', () => ({ flags: { endpoints: ' , ' } }), '--endpoints', /at least one endpoint/],
  ])('%s', (_, sources, field, message) => {
    const err = configError(sources());
    expect(err.field).toBe(field);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(`invalid configuration: ${field}: `);
    expect(err.message).toMatch(message);
  });

  const CLUSTER = '  - name: a\n    endpoints: [127.0.0.1:2379]\n';
  it.each<[string, string, (file: string) => string, RegExp]>([
    ['a bad value', 'api_port: abc\n', (f) => `${f}: api_port`, /whole number/],
    ['an unknown key', 'max_latency: 100\n', (f) => `${f}: max_latency`, /unknown setting/],
    ['a list where a number belongs', 'max_db_size_mb: [1, 2]\n', (f) => `${f}: max_db_size_mb`, /a list/],
    [
      'endpoints without a port in the second cluster',
      `clusters:\n${CLUSTER}  - name: b\n    endpoints: [127.0.0.1]\n`,
      (f) => `${f}: clusters[1].endpoints`,
      /needs a port/,
    ],
    [
      'duplicate cluster names',
      `clusters:\n${CLUSTER}${CLUSTER}`,
      (f) => `${f}: clusters[1].name`,
      /duplicate cluster name "a"/,
    ],
    [
      'a cluster without endpoints',
      'clusters:\n  - name: a\n',
      (f) => `${f}: clusters[0].endpoints`,
      /is required/,
    ],
    [
      'a cluster without a name',
      'clusters:\n  - endpoints: [127.0.0.1:2379]\n',
      (f) => `${f}: clusters[0].name`,
      /is required/,
    ],
    [
      'an unknown key in a cluster',
      `clusters:\n${CLUSTER}    tls: {}\n`,
      (f) => `${f}: clusters[0].tls`,
      /unknown setting/,
    ],
    [
      'a bad tag name',
      `clusters:\n${CLUSTER}    tags: {"bad-name": x}\n`,
      (f) => `${f}: clusters[0].tags.bad-name`,
      /label names/,
    ],
    [
      'a non-scalar tag',
      `clusters:\n${CLUSTER}    tags: {env: [a]}\n`,
      (f) => `${f}: clusters[0].tags.env`,
      /scalars/,
    ],
    ['clusters that is not a list', 'clusters: {a: 1}\n', (f) => `${f}: clusters`, /non-empty list/],
    [
      'endpoints and clusters together',
      `endpoints: [127.0.0.1:2379]\nclusters:\n${CLUSTER}`,
      (f) => `${f}: endpoints`,
      /not both/,
    ],
    [
      "a cluster's cert without key",
      `clusters:\n${CLUSTER}    cert: CERT\n`,
      (f) => `${f}: clusters[0].key`,
      /cert and key must be given together/,
    ],
    ['a top level that is not a mapping', '- a\n- b\n', (f) => f, /must be a mapping/],
    ['invalid YAML', 'api_port: [1\n', (f) => f, /not valid YAML/],
  ])('file: %s', (_, text, field, message) => {
    const file = yamlFile(text.replace('CERT', readable('only-cert.crt')));
    const err = configError({ flags: { config: file } });
    expect(err.field).toBe(field(file));
    expect(err.message).toMatch(message);
  });

  it('an unreadable config file is reported against --config', () => {
    const missing = path.join(dir, 'missing.yaml');
    const err = configError({ flags: { config: missing } });
    expect(err.field).toBe('--config');
    expect(err.message).toMatch(/ENOENT/);
  });

  it('--cert without --key', () => {
    const err = configError({ flags: { cert: readable('client.crt') } });
    expect(err.field).toBe('--key');
    expect(err.message).toMatch(/together/);
  });

  it('--key without --cert', () => {
    const err = configError({ flags: { key: readable('client.key') } });
    expect(err.field).toBe('--cert');
  });

  it('a cert file that does not exist', () => {
    const err = configError({ flags: { cert: path.join(dir, 'nope.crt'), key: readable('c.key') } });
    expect(err.field).toBe('--cert');
    expect(err.message).toMatch(/cannot read file/);
  });

  it('an unreadable cacert of a file cluster names that cluster', () => {
    const file = yamlFile(
      `clusters:\n${CLUSTER}  - name: b\n    endpoints: [127.0.0.1:2379]\n    cacert: ${path.join(dir, 'none.pem')}\n`,
    );
    const err = configError({ flags: { config: file } });
    expect(err.field).toBe(`${file}: clusters[1].cacert`);
    expect(err.message).toMatch(/cannot read file/);
  });
});

describe('TLS and tags from a file', () => {
  it("a cluster's own TLS files replace the global ones as a set; others inherit the global ones", () => {
    const globalCa = readable('global-ca.crt');
    const own = { cert: readable('own.crt'), key: readable('own.key') };
    const file = yamlFile(
      [
        `cacert: ${globalCa}`,
        'expected_members: 3',
        'clusters:',
        '  - name: a',
        '    endpoints: [https://127.0.0.1:2379]',
        '  - name: b',
        '    endpoints: [https://127.0.0.1:2380]',
        `    cert: ${own.cert}`,
        `    key: ${own.key}`,
        '    expected_members: 5',
        '    tags: {env: prod, shard: 2, primary: true}',
        '',
      ].join('\n'),
    );
    const [a, b] = resolveConfig({ flags: { config: file } }).clusters;
    expect(a).toEqual({
      name: 'a',
      endpoints: ['https://127.0.0.1:2379'],
      tls: { caFile: globalCa },
      tags: {},
      expectedMembers: 3,
      discoverMembers: true,
      thresholds: DEFAULT_THRESHOLDS,
    });
    expect(b).toEqual({
      name: 'b',
      endpoints: ['https://127.0.0.1:2380'],
      tls: { certFile: own.cert, keyFile: own.key },
      tags: { env: 'prod', shard: '2', primary: 'true' },
      expectedMembers: 5,
      discoverMembers: true,
      thresholds: DEFAULT_THRESHOLDS,
    });
  });
});

describe('per-cluster thresholds', () => {
  const twoClusters = (own: string) =>
    yamlFile(
      [
        'max_db_size_mb: 512',
        'clusters:',
        '  - name: a',
        '    endpoints: [127.0.0.1:2379]',
        '  - name: b',
        '    endpoints: [127.0.0.1:2380]',
        own,
        '',
      ].join('\n'),
    );

  it("a cluster's own values replace the global ones for that cluster only", () => {
    const file = twoClusters(
      '    max_db_size_mb: 4096\n    max_latency_ms: 250\n    min_available_nodes: 3\n    max_leader_changes: 0',
    );
    const [a, b] = resolveConfig({ flags: { config: file } }).clusters;
    expect(a?.thresholds).toEqual({ ...DEFAULT_THRESHOLDS, maxDbSizeBytes: 512 * 2 ** 20 });
    expect(b?.thresholds).toEqual({
      maxLatencyMs: 250,
      maxDbSizeBytes: 4096 * 2 ** 20,
      minAvailableNodes: 3,
      maxLeaderChangesPerHour: 0,
    });
  });

  it('a flag or environment variable sets the value of every cluster without its own', () => {
    const file = twoClusters('    max_db_size_mb: 4096');
    for (const sources of [
      { flags: { config: file, 'max-db-size-mb': '64' } },
      { flags: { config: file }, env: { ETCD_MONITOR_MAX_DB_SIZE_MB: '64' } },
    ]) {
      const [a, b] = resolveConfig(sources).clusters;
      expect(a?.thresholds.maxDbSizeBytes).toBe(64 * 2 ** 20);
      expect(b?.thresholds.maxDbSizeBytes).toBe(4096 * 2 ** 20);
    }
  });

  it.each([
    ['max_db_size_mb', '0', /between 1 and 1048576/],
    ['max_db_size_mb', 'big', /whole number/],
    ['max_latency_ms', '1.5', /whole number/],
    ['min_available_nodes', '100', /between 1 and 99/],
    ['max_leader_changes', '-1', /between 0 and 1000000/],
    ['max_leader_changes', '[1]', /a list/],
  ])('a bad clusters[1].%s (%s) exits naming that cluster and field', (key, value, message) => {
    const file = twoClusters(`    ${key}: ${value}`);
    const err = configError({ flags: { config: file } });
    expect(err.field).toBe(`${file}: clusters[1].${key}`);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(message);
  });
});

describe('config.example.yaml', () => {
  const example = readFileSync(path.join(REPO, 'config.example.yaml'), 'utf8');

  it('documents every setting', () => {
    for (const spec of Object.values(FIELDS)) {
      expect(example, yamlKey(spec.flag)).toMatch(new RegExp(`^(# )?${yamlKey(spec.flag)}:`, 'm'));
    }
    expect(example).toMatch(/^clusters:/m);
  });

  // The example names TLS files under /etc/etcd-monitor/tls/ (so users see where they go); those are
  // checked at load time, so the test loads it with the paths pointed at files it creates.
  const loadExample = () => {
    const tlsPaths = [...new Set(example.match(/\/etc\/etcd-monitor\/tls\/[\w.-]+/g) ?? [])];
    let text = example;
    for (const p of tlsPaths) text = text.split(p).join(readable(path.basename(p)));
    return { config: resolveConfig({ flags: { config: yamlFile(text) } }), tlsPaths };
  };

  it('loads, with two clusters, TLS files and tags', () => {
    const { config, tlsPaths } = loadExample();
    expect(tlsPaths.length).toBeGreaterThanOrEqual(3);
    expect(config.clusters.map((c) => c.name)).toEqual(['staging', 'production']);
    const [staging, production] = config.clusters;
    expect(staging?.tls).toBeUndefined();
    expect(staging?.endpoints).toHaveLength(3);
    expect(production?.tls).toEqual({
      certFile: path.join(dir, 'production-client.crt'),
      keyFile: path.join(dir, 'production-client.key'),
      caFile: path.join(dir, 'production-ca.crt'),
    });
    expect(production?.expectedMembers).toBe(5);
    expect(production?.endpoints.every((e) => e.startsWith('https://'))).toBe(true);
    expect(Object.keys(production?.tags ?? {})).toEqual(['env', 'region', 'team']);
    expect(staging?.tags).toEqual({ env: 'staging', region: 'eu-west-1' });
    // Per-cluster thresholds; what a cluster leaves out comes from the top-level defaults.
    expect(staging?.thresholds).toEqual({ ...DEFAULT_THRESHOLDS, maxLatencyMs: 250 });
    expect(production?.thresholds).toEqual({
      ...DEFAULT_THRESHOLDS,
      maxDbSizeBytes: 6144 * 2 ** 20,
      minAvailableNodes: 4,
    });
  });

  it('its top-level values are the built-in defaults', () => {
    const { config } = loadExample();
    const defaults = resolveConfig({});
    expect({ ...config, clusters: [] }).toEqual({ ...defaults, clusters: [] });
  });
});
