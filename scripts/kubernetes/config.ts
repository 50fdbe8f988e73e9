// config.yaml of each variant, in the ConfigMap the Deployment (StatefulSet) mounts at PATHS.configFile. Written as text
// (not dumped) so it can carry comments; test/deploy/ loads it with the exporter's own resolveConfig.
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { COMMON_LABELS, NAME, PASSWORD_SECRET, PATHS } from './names.js';
import type { Variant } from './variants.js';

/** Lines of the commented-out etcd user; uncommenting both (and creating the Secret) turns auth on. */
export const AUTH_USER_LINE = '    # user: etcd-monitor';
export const AUTH_PASSWORD_LINE = (v: Variant): string => `    # password_file: ${v.passwordFile ?? ''}`;

/** The TLS lines of one clusters[] entry. */
const tlsLines = (v: Variant) => [
  `    cacert: ${v.tls.cacert}`,
  `    cert: ${v.tls.cert}`,
  `    key: ${v.tls.key}`,
];

export function configYaml(v: Variant): string {
  const workload = v.shards ? 'StatefulSet' : 'Deployment';
  const lines = [
    `# The exporter configuration (every key: config.example.yaml). Flags in the ${workload} args win over it.`,
    ...(v.shards
      ? [
          `# Every replica reads this whole list and watches only the clusters whose name hashes to its ordinal`,
          `# (ETCD_MONITOR_SHARD_COUNT=${v.shards} in the StatefulSet): add clusters here, not replicas per cluster.`,
        ]
      : []),
    'clusters:',
    `  - name: ${v.clusterName}`,
    '    endpoints:',
    ...v.endpoints.map((url) => `      - ${url}`),
    ...(v.kubeadm
      ? [
          '    # A seed: the member list names every member, each watched at its advertised node-IP URL.',
          '    discover_members: true',
        ]
      : []),
    ...tlsLines(v),
    ...(v.passwordFile
      ? [
          `    # etcd with authentication: uncomment both lines and create the Secret ${PASSWORD_SECRET.name}`,
          `    # (key ${PASSWORD_SECRET.key}); the ${workload} already mounts it at ${PATHS.authDir}.`,
          AUTH_USER_LINE,
          AUTH_PASSWORD_LINE(v),
        ]
      : []),
    ...(v.moreClusters ?? []).flatMap((c) => [
      `  - name: ${c.name}`,
      '    endpoints:',
      ...c.endpoints.map((url) => `      - ${url}`),
      ...tlsLines(v),
    ]),
  ];
  return lines.join('\n') + '\n';
}

export const CONFIG_MAP_NAME = `${NAME}-config`;

export function configMap(v: Variant): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG_MAP_NAME, labels: COMMON_LABELS },
    data: { 'config.yaml': configYaml(v) },
  };
}
