import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { fetch } from 'undici';
import { ROOT } from '../alerts/rules-support.js';
import { MIXIN_DIR } from './mixin.js';

// What the README's "Next to kube-prometheus-stack" section tells users to put into the stack's values.yaml,
// turned into the Prometheus configuration prometheus-operator would generate from it. The test reads the
// snippets from the README itself, so the documented values are the measured ones. The value keys
// (defaultRules.rules.etcd, kubeEtcd.enabled, kubeEtcd.serviceMonitor.relabelings) and the target labels below
// are those of prometheus-community/helm-charts charts/kube-prometheus-stack: values.yaml,
// templates/exporters/kube-etcd/{service,servicemonitor}.yaml and templates/prometheus/rules-1.14/etcd.yaml
// (the etcd alerts need both kubeEtcd.enabled and defaultRules.rules.etcd).

/** A prometheus-operator RelabelConfig as written in a ServiceMonitor (camelCase keys). */
export interface OperatorRelabeling {
  sourceLabels?: string[];
  targetLabel?: string;
  replacement?: string;
  regex?: string;
  separator?: string;
  action?: string;
}

export interface StackValues {
  defaultRules?: { rules?: { etcd?: boolean } };
  kubeEtcd?: { enabled?: boolean; serviceMonitor?: { relabelings?: OperatorRelabeling[] } };
}

const SECTION = '## Next to kube-prometheus-stack';

/** The README section's text, up to the next `## ` heading. */
export function readmeSection(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README.md has no "${SECTION}" section`);
  const end = readme.indexOf('\n## ', start + SECTION.length);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Every ```yaml block of the README section, parsed, in order. */
export function readmeValues(): StackValues[] {
  return [...readmeSection().matchAll(/```yaml\n([\s\S]*?)```/g)].map(
    (m) => yaml.load(m[1] ?? '') as StackValues,
  );
}

/** The same relabeling in prometheus.yml's snake_case, as prometheus-operator renders it. */
export function toRelabelConfig(r: OperatorRelabeling): Record<string, unknown> {
  return {
    ...(r.sourceLabels ? { source_labels: r.sourceLabels } : {}),
    ...(r.separator !== undefined ? { separator: r.separator } : {}),
    ...(r.regex !== undefined ? { regex: r.regex } : {}),
    ...(r.targetLabel ? { target_label: r.targetLabel } : {}),
    ...(r.replacement !== undefined ? { replacement: r.replacement } : {}),
    action: r.action ?? 'replace',
  };
}

export interface EtcdTarget {
  /** host:port of the member's plain-HTTP metrics listener (kubeadm: <node IP>:2381). */
  address: string;
  /** etcd's member name; under kubeadm it is the node name. */
  name: string;
}

/**
 * prometheus.yml for one stack Prometheus: the exporter's job (honor_labels, as the shipped config) and a
 * `kube-etcd` job scraping every member directly with the target labels prometheus-operator gives a
 * ServiceMonitor endpoint of the stack's kube-etcd Service (namespace, service, pod, endpoint; the pod's
 * node name as a meta label that relabelings can read and that is dropped afterwards).
 */
export function stackPrometheusConfig(opts: {
  exporter: string;
  members: EtcdTarget[];
  relabelings: OperatorRelabeling[];
  ruleFiles: string[];
  interval: string;
}): string {
  const config = {
    global: {
      scrape_interval: opts.interval,
      evaluation_interval: opts.interval,
      scrape_timeout: opts.interval,
    },
    rule_files: opts.ruleFiles,
    scrape_configs: [
      { job_name: 'etcd-monitor', honor_labels: true, static_configs: [{ targets: [opts.exporter] }] },
      {
        job_name: 'kube-etcd',
        static_configs: opts.members.map((m) => ({
          targets: [m.address],
          labels: {
            __meta_kubernetes_pod_node_name: m.name,
            namespace: 'kube-system',
            service: 'kube-prometheus-stack-kube-etcd',
            pod: `etcd-${m.name}`,
            endpoint: 'http-metrics',
          },
        })),
        ...(opts.relabelings.length > 0 ? { relabel_configs: opts.relabelings.map(toRelabelConfig) } : {}),
      },
    ],
  };
  return yaml.dump(config, { lineWidth: -1 });
}

/**
 * The stack's own etcd alerts (its defaultRules.rules.etcd group is generated from the upstream etcd mixin
 * with `without (instance, pod)`), rendered from the upstream mixin with that setting and every `for`
 * shortened to `forOverride`.
 */
export function stackEtcdRules(forOverride: string): string {
  if (!existsSync(path.join(MIXIN_DIR, 'mixin.libsonnet'))) {
    throw new Error(
      `the upstream etcd mixin is missing: ${MIXIN_DIR} (see its SOURCE.md; set ETCD_MIXIN_DIR)`,
    );
  }
  const json = execFileSync(
    'jsonnet',
    [
      '-J',
      'vendor',
      '-e',
      "((import 'mixin.libsonnet') + { _config+:: { etcd_instance_labels: 'instance, pod' } }).prometheusAlerts",
    ],
    { cwd: MIXIN_DIR, encoding: 'utf8', timeout: 60_000 },
  );
  const doc = JSON.parse(json) as { groups: Array<{ rules: Array<{ for?: string }> }> };
  for (const rule of doc.groups.flatMap((g) => g.rules)) if (rule.for) rule.for = forOverride;
  return yaml.dump(doc, { lineWidth: -1 });
}

export interface RuleState {
  name: string;
  type: string;
  health: string;
  lastError?: string;
}

export interface ApiAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

async function getData<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

/** Every rule's evaluation state (GET /api/v1/rules). */
export const ruleStates = (promUrl: string): Promise<RuleState[]> =>
  getData<{ groups: Array<{ rules: RuleState[] }> }>(`${promUrl}/api/v1/rules`).then((d) =>
    d.groups.flatMap((g) => g.rules),
  );

/** Pending and firing alerts (GET /api/v1/alerts). */
export const activeAlerts = (promUrl: string): Promise<ApiAlert[]> =>
  getData<{ alerts: ApiAlert[] }>(`${promUrl}/api/v1/alerts`).then((d) => d.alerts);

/** Health of every scrape target by job. */
export const targetHealth = (promUrl: string): Promise<Array<{ job: string; health: string }>> =>
  getData<{ activeTargets: Array<{ labels: Record<string, string>; health: string }> }>(
    `${promUrl}/api/v1/targets`,
  ).then((d) => d.activeTargets.map((t) => ({ job: t.labels.job ?? '', health: t.health })));
