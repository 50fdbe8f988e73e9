// What Prometheus and Grafana need: the Service, the ServiceMonitor that scrapes it, the PrometheusRule
// and one ConfigMap per bundled dashboard for the Grafana sidecar.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { renderRules } from '../../src/alerts/rules/render.js';
import {
  COMMON_LABELS,
  GRAFANA_DASHBOARD_LABEL,
  METRICS_PORT,
  METRICS_PORT_NAME,
  NAME,
  PROMETHEUS_SELECTOR_LABELS,
  ROOT,
  SELECTOR_LABELS,
} from './names.js';

export function service(): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: NAME, labels: COMMON_LABELS },
    spec: {
      selector: SELECTOR_LABELS,
      // By name: the kubeadm variant listens on another port on the node than the generic one in the pod.
      ports: [
        { name: METRICS_PORT_NAME, port: METRICS_PORT, targetPort: METRICS_PORT_NAME, protocol: 'TCP' },
      ],
    },
  };
}

export function serviceMonitor(): IServiceMonitor {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: NAME, labels: { ...COMMON_LABELS, ...PROMETHEUS_SELECTOR_LABELS } },
    spec: {
      selector: { matchLabels: SELECTOR_LABELS },
      endpoints: [
        {
          port: METRICS_PORT_NAME,
          path: '/metrics',
          // The exporter's --metrics-interval default; scraping faster only re-reads the same round.
          interval: '10s',
          // Relayed etcd series carry their member's own `instance`; without this Prometheus would rename
          // it to exported_instance and every member would show as the exporter pod.
          honorLabels: true,
        },
      ],
    },
  };
}

/** The bundled alert rules: the same object as alert-rules/prometheusrule.yaml, plus the release label. */
export function prometheusRule(): IPrometheusRule {
  const rule = yaml.load(renderRules().prometheusRuleYaml) as IPrometheusRule;
  return {
    ...rule,
    metadata: { ...rule.metadata, labels: { ...rule.metadata?.labels, ...PROMETHEUS_SELECTOR_LABELS } },
  };
}

export const DASHBOARD_DIR = path.join(ROOT, 'dashboards');

/** The committed dashboard files, sorted: dashboards/*.json. */
export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** One ConfigMap per dashboard, its JSON byte for byte, labelled for kube-prometheus-stack's Grafana sidecar. */
export function dashboardConfigMaps(): IConfigMap[] {
  return dashboardFiles().map((file) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${NAME}-dashboard-${path.basename(file, '.json')}`,
      labels: { ...COMMON_LABELS, 'app.kubernetes.io/component': 'dashboard', ...GRAFANA_DASHBOARD_LABEL },
    },
    data: { [file]: readFileSync(path.join(DASHBOARD_DIR, file), 'utf8') },
  }));
}
