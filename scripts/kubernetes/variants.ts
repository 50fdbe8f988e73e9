// The ways the exporter is deployed. Everything that differs between them is here; the builders in
// workload.ts, config.ts and network.ts read only these fields.
import { CLIENT_TLS_SECRET, ETCD_CLIENT_PORT, METRICS_PORT, PATHS, PASSWORD_SECRET } from './names.js';

/** A client-certificate file the exporter reads, and where the pod gets it from. */
export interface TlsPaths {
  readonly cacert: string;
  readonly cert: string;
  readonly key: string;
}

export interface Variant {
  /** Folder below deploy/kubernetes/ with this variant's own files and its kustomization.yaml. */
  readonly dir: 'generic' | 'kubeadm' | 'statefulset';
  /** One line for the file headers and README. */
  readonly summary: string;
  /** The `cluster` label value of the watched cluster. */
  readonly clusterName: string;
  /** Seed client URLs of the cluster (config.yaml `endpoints`). */
  readonly endpoints: readonly string[];
  /** Port the exporter listens on inside the pod (with hostNetwork: on the node). */
  readonly metricsPort: number;
  readonly tls: TlsPaths;
  /** Password file of an etcd user (generic only: kubeadm's etcd has no authentication). */
  readonly passwordFile?: string;
  /** kubeadm: run on a control-plane node on the host network, certificates from the node's disk. */
  readonly kubeadm: boolean;
  /**
   * A StatefulSet of this many replicas, each watching the clusters whose name hashes to its ordinal
   * (ETCD_MONITOR_SHARD_COUNT is this number, the index the pod ordinal); absent: a one-replica Deployment.
   */
  readonly shards?: number;
  /** Clusters of config.yaml after the first (clusterName, endpoints), with the same TLS files. */
  readonly moreClusters?: readonly { readonly name: string; readonly endpoints: readonly string[] }[];
}

export const GENERIC: Variant = {
  dir: 'generic',
  summary: 'an etcd cluster reachable from the pod network, client certificates from a Secret',
  clusterName: 'main',
  endpoints: [0, 1, 2].map((i) => `https://etcd-${i}.etcd.example.internal:${ETCD_CLIENT_PORT}`),
  metricsPort: METRICS_PORT,
  tls: {
    cacert: `${PATHS.tlsDir}/${CLIENT_TLS_SECRET.keys[0]}`,
    cert: `${PATHS.tlsDir}/${CLIENT_TLS_SECRET.keys[1]}`,
    key: `${PATHS.tlsDir}/${CLIENT_TLS_SECRET.keys[2]}`,
  },
  passwordFile: `${PATHS.authDir}/${PASSWORD_SECRET.key}`,
  kubeadm: false,
};

/** Where kubeadm keeps etcd's CA and the client certificate it made for health checks. */
export const KUBEADM_PKI = {
  dir: '/etc/kubernetes/pki/etcd',
  files: ['ca.crt', 'healthcheck-client.crt', 'healthcheck-client.key'],
} as const;

export const KUBEADM: Variant = {
  dir: 'kubeadm',
  summary: "kubeadm's stacked etcd, watched from a control-plane node with kubeadm's own etcd certificates",
  // kubeadm's default ClusterConfiguration.clusterName.
  clusterName: 'kubernetes',
  // kubeadm's etcd listens on https://127.0.0.1:2379 and https://<node IP>:2379 (--listen-client-urls)
  // and advertises the node IP; 127.0.0.1 is only the node's loopback with hostNetwork. It is a seed:
  // --discover-members reads the member list and watches every member at its advertised node-IP URL,
  // which the server certificates kubeadm makes cover (SANs: hostname, localhost, node IP, 127.0.0.1).
  endpoints: [`https://127.0.0.1:${ETCD_CLIENT_PORT}`],
  // A port on the node itself (hostNetwork): 8080 is often taken by node-level proxies; 9379 is next to
  // etcd's own 2379/2380/2381 and unused by kubeadm's components (6443, 10250, 10257, 10259).
  metricsPort: 9379,
  tls: {
    cacert: `${PATHS.tlsDir}/${KUBEADM_PKI.files[0]}`,
    cert: `${PATHS.tlsDir}/${KUBEADM_PKI.files[1]}`,
    key: `${PATHS.tlsDir}/${KUBEADM_PKI.files[2]}`,
  },
  kubeadm: true,
};

/** Example client URLs of a cluster named `name`, three members behind the pod network's DNS. */
const exampleEndpoints = (name: string) =>
  [0, 1, 2].map((i) => `https://etcd-${i}.${name}.example.internal:${ETCD_CLIENT_PORT}`);

export const STATEFULSET: Variant = {
  ...GENERIC,
  dir: 'statefulset',
  summary:
    'several etcd clusters spread over 3 exporter replicas (a StatefulSet, one shard per pod), client certificates from a Secret',
  // main, cache and events hash to shards 1, 0 and 2 of 3 (Prometheus' hashmod): one cluster per replica.
  moreClusters: ['cache', 'events'].map((name) => ({ name, endpoints: exampleEndpoints(name) })),
  shards: 3,
};

export const VARIANTS: readonly Variant[] = [GENERIC, KUBEADM, STATEFULSET];
