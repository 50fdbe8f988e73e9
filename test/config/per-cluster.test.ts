import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLUSTER_ONLY_KEYS,
  FIELDS,
  PER_CLUSTER_FIELDS,
  PROBE_LEASE_TTL_SECONDS,
  yamlKey,
  type FieldSpec,
  type PerClusterField,
} from '../../src/config/fields.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { ClusterConfig } from '../../src/config/types.js';
import { ConfigError } from '../../src/util/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-per-cluster-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readable(name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `placeholder for ${name}\n`);
  return file;
}

const CERT = readable('client.crt');
const KEY = readable('client.key');
const CA = readable('ca.crt');
const PASSWORD = readable('password');

/**
 * One row per field marked `perCluster`: what the second of two clusters sets (the field's own key
 * first; cert and key, user and password file only go together) and how that shows in its
 * ClusterConfig. Record<PerClusterField, …> makes a field newly marked perCluster a type error here
 * until it has a row, and the test below fails until its value reaches the cluster.
 */
const ROWS: Record<
  PerClusterField,
  { set: Record<string, unknown>; read: (c: ClusterConfig) => unknown; expected: unknown }
> = {
  endpoints: {
    set: { endpoints: ['10.0.0.9:2379'] },
    read: (c) => c.endpoints,
    expected: ['http://10.0.0.9:2379'],
  },
  expectedMembers: { set: { expected_members: 5 }, read: (c) => c.expectedMembers, expected: 5 },
  discoverMembers: { set: { discover_members: false }, read: (c) => c.discoverMembers, expected: false },
  cert: { set: { cert: CERT, key: KEY }, read: (c) => c.tls?.certFile, expected: CERT },
  key: { set: { key: KEY, cert: CERT }, read: (c) => c.tls?.keyFile, expected: KEY },
  cacert: { set: { cacert: CA }, read: (c) => c.tls?.caFile, expected: CA },
  user: {
    set: { user: 'monitor', password_file: PASSWORD },
    read: (c) => c.auth?.username,
    expected: 'monitor',
  },
  passwordFile: {
    set: { password_file: PASSWORD, user: 'monitor' },
    read: (c) => c.auth?.passwordFile,
    expected: PASSWORD,
  },
  maxLatencyMs: { set: { max_latency_ms: 250 }, read: (c) => c.thresholds.maxLatencyMs, expected: 250 },
  maxDbSizeMb: {
    set: { max_db_size_mb: 64 },
    read: (c) => c.thresholds.maxDbSizeBytes,
    expected: 64 * 2 ** 20,
  },
  minAvailableNodes: {
    set: { min_available_nodes: 3 },
    read: (c) => c.thresholds.minAvailableNodes,
    expected: 3,
  },
  maxLeaderChanges: {
    set: { max_leader_changes: 0 },
    read: (c) => c.thresholds.maxLeaderChangesPerHour,
    expected: 0,
  },
  reexposeMaxSeries: { set: { reexpose_max_series: 500 }, read: (c) => c.reexposeMaxSeries, expected: 500 },
};

let files = 0;
function twoClusters(second: Record<string, unknown>): string {
  const file = path.join(dir, `clusters-${++files}.yaml`);
  const doc = {
    clusters: [
      { name: 'a', endpoints: ['127.0.0.1:2379'] },
      { name: 'b', endpoints: ['127.0.0.1:3379'], ...second },
    ],
  };
  writeFileSync(file, yaml.dump(doc));
  return file;
}

describe('perCluster fields (FieldSpec.perCluster) are honoured in clusters[] entries', () => {
  it('every field marked perCluster has a row, and only those', () => {
    const marked = (Object.keys(FIELDS) as (keyof typeof FIELDS)[]).filter(
      (name) => (FIELDS[name] as FieldSpec).perCluster,
    );
    expect([...PER_CLUSTER_FIELDS].sort()).toEqual([...marked].sort());
    expect(Object.keys(ROWS).sort()).toEqual([...PER_CLUSTER_FIELDS].sort());
  });

  it.each(PER_CLUSTER_FIELDS)('%s set in the second entry reaches that cluster only', (field) => {
    const row = ROWS[field];
    expect(Object.keys(row.set)[0]).toBe(yamlKey(FIELDS[field].flag));
    const [a, b] = resolveConfig({ flags: { config: twoClusters(row.set) } }).clusters;
    expect(row.read(b!)).toEqual(row.expected);
    expect(row.read(a!)).not.toEqual(row.expected);
  });

  it('a clusters[] entry accepts exactly its own keys and the perCluster fields, and names them', () => {
    const file = twoClusters({ api_port: 8081 });
    let err: unknown;
    try {
      resolveConfig({ flags: { config: file } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(`${file}: clusters[1].api_port`);
    const known = /\(known: (.*)\)$/.exec((err as ConfigError).message)?.[1]?.split(', ');
    expect(known?.sort()).toEqual(
      [...CLUSTER_ONLY_KEYS, ...PER_CLUSTER_FIELDS.map((name) => yamlKey(FIELDS[name].flag))].sort(),
    );
  });

  it('name and tags, the keys only an entry has, reach the cluster', () => {
    const [, b] = resolveConfig({ flags: { config: twoClusters({ tags: { env: 'prod' } }) } }).clusters;
    expect(b?.name).toBe('b');
    expect(b?.tags).toEqual({ env: 'prod' });
  });

  it('user is parsed as text: a YAML number is the name it spells', () => {
    const file = twoClusters({ user: 1000, password_file: PASSWORD });
    expect(resolveConfig({ flags: { config: file } }).clusters[1]?.auth?.username).toBe('1000');
  });

  it.each(['user', 'password_file', 'cert', 'cacert'])(
    'a list as clusters[1].%s is named as that key',
    (key) => {
      const file = twoClusters({ [key]: ['a', 'b'] });
      let err: unknown;
      try {
        resolveConfig({ flags: { config: file } });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(`${file}: clusters[1].${key}`);
      expect((err as ConfigError).message).toMatch(/expected a string, got a list/);
    },
  );
});

describe('the probe lease', () => {
  it('is PROBE_LEASE_TTL_SECONDS (60 s) whatever the configuration', () => {
    expect(PROBE_LEASE_TTL_SECONDS).toBe(60);
    expect(resolveConfig({}).probe.leaseTtlSeconds).toBe(60);
  });
});
