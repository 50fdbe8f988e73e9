// Names, labels, ports and paths shared by every manifest, so that the Service, ServiceMonitor, Deployment,
// NetworkPolicy and config.yaml cannot disagree (test/deploy/ checks that they do not).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Directory the manifests are written to. */
export const DEPLOY_DIR = path.join(ROOT, 'deploy/kubernetes');

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** Name of every object (one exporter per namespace; prefix it in an overlay with `namePrefix`). */
export const NAME = 'etcd-monitor';
/**
 * The image the Dockerfile builds (`docker build -t etcd-monitor:<version> .`). There is no public image:
 * push it to your registry and point an overlay's `images:` at it.
 */
export const IMAGE = `${NAME}:${pkg.version}`;

/** Labels of the exporter's Pods, Service and ServiceMonitor; the Deployment and Service select on them. */
export const SELECTOR_LABELS = {
  'app.kubernetes.io/name': NAME,
  'app.kubernetes.io/component': 'exporter',
} as const;
export const COMMON_LABELS = { ...SELECTOR_LABELS, 'app.kubernetes.io/part-of': NAME } as const;

/**
 * kube-prometheus-stack's Prometheus picks ServiceMonitors and PrometheusRules by `release: <helm release>`
 * (serviceMonitorSelector / ruleSelector when *SelectorNilUsesHelmValues is true, the chart's default);
 * `kube-prometheus-stack` is the release name its own README installs. Another release: change it in an
 * overlay (`commonLabels` would also change the selectors, so patch the two objects' labels).
 */
export const PROMETHEUS_SELECTOR_LABELS = { release: 'kube-prometheus-stack' } as const;

/** The label kube-prometheus-stack's Grafana sidecar watches for dashboards (grafana.sidecar.dashboards.label). */
export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: '1' } as const;

/** The exporter's HTTP port (its --api-port default) and the name Service, ServiceMonitor and policy use. */
export const METRICS_PORT = 8080;
export const METRICS_PORT_NAME = 'http-metrics';
/** The etcd client port; the NetworkPolicy lets the exporter reach it and nothing else besides DNS. */
export const ETCD_CLIENT_PORT = 2379;

/** The Dockerfile's unprivileged user `node` (uid and gid 1000 in node:20-slim). */
export const RUN_AS = 1000;

// Pod Security "restricted", shared by the exporter's workloads and the benchmark Job. Functions, not
// constants: a YAML dump would turn one object used twice into an anchor and an alias.

/** Pod level: the image's unprivileged user, the runtime's seccomp profile. */
export function restrictedPod(): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    fsGroup: RUN_AS,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container level: nothing to escalate to, no capabilities, no writable image. */
export function restrictedContainer(): ISecurityContext {
  return { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
}

/** Mount points inside the exporter container. */
export const PATHS = {
  configDir: '/etc/etcd-monitor/config',
  configFile: '/etc/etcd-monitor/config/config.yaml',
  tlsDir: '/etc/etcd-monitor/tls',
  authDir: '/etc/etcd-monitor/auth',
  dataDir: '/var/lib/etcd-monitor',
  tmpDir: '/tmp',
} as const;

/**
 * Secrets the user creates (never generated: they hold keys). The keys follow kubernetes.io/tls
 * (`tls.crt`, `tls.key`) plus `ca.crt`, as cert-manager writes them.
 */
export const CLIENT_TLS_SECRET = {
  name: `${NAME}-etcd-client`,
  keys: ['ca.crt', 'tls.crt', 'tls.key'],
} as const;
export const PASSWORD_SECRET = { name: `${NAME}-etcd-password`, key: 'password' } as const;

/** Where the NetworkPolicy admits scrapes from: kube-prometheus-stack's Prometheus in `monitoring`. */
export const PROMETHEUS_PEER = {
  namespace: 'monitoring',
  podLabels: { 'app.kubernetes.io/name': 'prometheus' },
} as const;
