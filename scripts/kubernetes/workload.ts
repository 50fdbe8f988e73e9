// The exporter's ServiceAccount and its workload: a Deployment, or a StatefulSet with its headless Service.
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { CONFIG_MAP_NAME } from './config.js';
import {
  CLIENT_TLS_SECRET,
  COMMON_LABELS,
  IMAGE,
  METRICS_PORT_NAME,
  NAME,
  PASSWORD_SECRET,
  PATHS,
  RUN_AS,
  restrictedContainer,
  restrictedPod,
  SELECTOR_LABELS,
} from './names.js';
import { KUBEADM_PKI, type Variant } from './variants.js';

export const CONTAINER_NAME = 'exporter';

export function serviceAccount(): IServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: NAME, labels: COMMON_LABELS },
    // The exporter never calls the Kubernetes API.
    automountServiceAccountToken: false,
  };
}

/** The exporter's arguments after the image's entrypoint (`node … bin/etcd-monitor.js`). */
export function exporterArgs(v: Variant): string[] {
  return [
    'serve',
    `--config=${PATHS.configFile}`,
    `--api-port=${v.metricsPort}`,
    `--data-dir=${PATHS.dataDir}`,
  ];
}

/**
 * The label Kubernetes puts on every StatefulSet pod with its ordinal (apps.kubernetes.io/pod-index, on by
 * default since 1.28). Passed as ETCD_MONITOR_SHARD_INDEX through the downward API; on an older cluster the
 * label is missing, the variable is empty, and the exporter takes the ordinal from $HOSTNAME (pod name
 * `etcd-monitor-<ordinal>`) instead: the same number either way.
 */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/** Non-root, nothing to escalate to, no writable image: Pod Security "restricted" for the exporter. */
const RESTRICTED: ISecurityContext = restrictedContainer();

function volumes(v: Variant): { volumes: IVolume[]; mounts: IVolumeMount[] } {
  const volumes: IVolume[] = [
    {
      name: 'config',
      configMap: { name: CONFIG_MAP_NAME, items: [{ key: 'config.yaml', path: 'config.yaml' }] },
    },
    // Alert and leader history, benchmark results: lost with the pod, which the exporter tolerates (the
    // histories start empty; etcd_monitor_history_persistent says whether they are on disk).
    { name: 'data', emptyDir: { sizeLimit: '256Mi' } },
    { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
  ];
  const mounts: IVolumeMount[] = [
    { name: 'config', mountPath: PATHS.configDir, readOnly: true },
    { name: 'data', mountPath: PATHS.dataDir },
    { name: 'tmp', mountPath: PATHS.tmpDir },
    { name: 'etcd-tls', mountPath: PATHS.tlsDir, readOnly: true },
  ];
  if (v.kubeadm) {
    volumes.push(
      { name: 'etcd-pki', hostPath: { path: KUBEADM_PKI.dir, type: 'Directory' } },
      // The copies the init container makes for the unprivileged exporter; memory-backed, never on disk.
      { name: 'etcd-tls', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    );
  } else {
    volumes.push({
      name: 'etcd-tls',
      secret: {
        secretName: CLIENT_TLS_SECRET.name,
        defaultMode: 0o440,
        items: CLIENT_TLS_SECRET.keys.map((key) => ({ key, path: key })),
      },
    });
    volumes.push({
      name: 'etcd-password',
      secret: {
        secretName: PASSWORD_SECRET.name,
        defaultMode: 0o440,
        items: [{ key: PASSWORD_SECRET.key, path: PASSWORD_SECRET.key }],
        // Only needed when config.yaml names a user; without the Secret the directory stays empty.
        optional: true,
      },
    });
    mounts.push({ name: 'etcd-password', mountPath: PATHS.authDir, readOnly: true });
  }
  return { volumes, mounts };
}

/**
 * kubeadm writes its etcd keys as root, mode 0600, so the unprivileged exporter cannot read them from the
 * hostPath. This container (root, but with CHOWN as its only capability and a read-only image) copies the
 * three files into a memory-backed emptyDir, owned by the exporter's user, mode 0400.
 */
export const COPY_DESTINATION = PATHS.tlsDir;
function copyCertificates(): IContainer {
  const sources = KUBEADM_PKI.files.map((f) => `${KUBEADM_PKI.dir}/${f}`);
  return {
    name: 'copy-etcd-certs',
    image: IMAGE,
    imagePullPolicy: 'IfNotPresent',
    command: [
      'install',
      '-m',
      '0400',
      '-o',
      String(RUN_AS),
      '-g',
      String(RUN_AS),
      ...sources,
      `${COPY_DESTINATION}/`,
    ],
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['CHOWN'] },
    },
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
    volumeMounts: [
      { name: 'etcd-pki', mountPath: KUBEADM_PKI.dir, readOnly: true },
      { name: 'etcd-tls', mountPath: COPY_DESTINATION },
    ],
  };
}

/** The exporter's pod, the same in the Deployment and the StatefulSet. */
function podTemplate(v: Variant): IPodTemplateSpec {
  const { volumes: vols, mounts } = volumes(v);
  const probe = (path: string) => ({ httpGet: { path, port: METRICS_PORT_NAME }, timeoutSeconds: 5 });
  const exporter: IContainer = {
    name: CONTAINER_NAME,
    image: IMAGE,
    imagePullPolicy: 'IfNotPresent',
    args: exporterArgs(v),
    ports: [
      {
        name: METRICS_PORT_NAME,
        containerPort: v.metricsPort,
        protocol: 'TCP',
        ...(v.kubeadm ? { hostPort: v.metricsPort } : {}),
      },
    ],
    // /health is the process's own liveness, never etcd's (a sick cluster must not restart the exporter);
    // /ready answers 503 until the first collection round has finished, then 200 for good.
    livenessProbe: { ...probe('/health'), initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
    readinessProbe: { ...probe('/ready'), periodSeconds: 5, failureThreshold: 3 },
    // RSS measured at 116 MiB idle and 143 MiB under scrape load for 10 clusters × 3 members, 190–250 MiB
    // with a hostile member serving 150,000 extra series (README "Performance"): the limit leaves room.
    resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '384Mi' } },
    securityContext: RESTRICTED,
    volumeMounts: mounts,
    ...(v.shards
      ? {
          // In the environment rather than the args: `kubectl exec … etcd-monitor check` (or bench) in a pod
          // then resolves the same shard as the exporter, where an index without its count would be refused.
          env: [
            // The same number as the StatefulSet's replicas, from the same field: the two cannot drift apart.
            { name: 'ETCD_MONITOR_SHARD_COUNT', value: String(v.shards) },
            {
              name: 'ETCD_MONITOR_SHARD_INDEX',
              valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POD_INDEX_LABEL}']` } },
            },
          ],
        }
      : {}),
  };
  return {
    metadata: {
      labels: COMMON_LABELS,
      annotations: { 'kubectl.kubernetes.io/default-container': CONTAINER_NAME },
    },
    spec: {
      serviceAccountName: NAME,
      automountServiceAccountToken: false,
      securityContext: restrictedPod(),
      ...(v.kubeadm
        ? {
            // 127.0.0.1:2379 is etcd only in the node's network namespace.
            hostNetwork: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
            tolerations: [
              { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
            ],
            initContainers: [copyCertificates()],
          }
        : {}),
      containers: [exporter],
      volumes: vols,
    },
  };
}

export function deployment(v: Variant): IDeployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAME, labels: COMMON_LABELS },
    spec: {
      // One exporter per cluster: two would both probe etcd and double every series Prometheus scrapes.
      // Recreate keeps it one during a rollout too (and frees the host port in the kubeadm variant).
      replicas: 1,
      strategy: { type: 'Recreate' },
      revisionHistoryLimit: 3,
      selector: { matchLabels: SELECTOR_LABELS },
      template: podTemplate(v),
    },
  };
}

/** The headless Service a StatefulSet names as its serviceName (stable pod DNS names); never scraped. */
export const HEADLESS_SERVICE_NAME = `${NAME}-headless`;

/**
 * The headless Service of the StatefulSet. Its labels leave out the ServiceMonitor's selector (component
 * `exporter`): the ServiceMonitor scrapes every replica once, through the common Service, and would scrape
 * each twice if it matched this one too.
 */
export function headlessService(v: Variant): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: HEADLESS_SERVICE_NAME,
      labels: { ...COMMON_LABELS, 'app.kubernetes.io/component': 'exporter-headless' },
    },
    spec: {
      clusterIP: 'None',
      selector: SELECTOR_LABELS,
      ports: [
        { name: METRICS_PORT_NAME, port: v.metricsPort, targetPort: METRICS_PORT_NAME, protocol: 'TCP' },
      ],
    },
  };
}

/**
 * `shards` exporters, pod `etcd-monitor-<i>` watching the clusters of shard i. Nothing is coordinated
 * between them: each reads the same config.yaml and hashes the cluster names itself. A change of the
 * replica count is made together with --shard-count (the one `shards` field sets both) and rolls out as
 * any change of the pod template does, each pod restarting with the new count.
 */
export function statefulSet(v: Variant): IStatefulSet {
  if (!v.shards) throw new Error(`${v.dir} is not sharded`);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: NAME, labels: COMMON_LABELS },
    spec: {
      replicas: v.shards,
      serviceName: HEADLESS_SERVICE_NAME,
      // The replicas do not depend on each other: start and replace them all at once, not one by one.
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      revisionHistoryLimit: 3,
      selector: { matchLabels: SELECTOR_LABELS },
      template: podTemplate(v),
    },
  };
}
