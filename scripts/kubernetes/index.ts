// The Kubernetes manifest generator. Layout of this folder:
//   names.ts       names, labels, ports, mount paths shared by every object
//   variants.ts    the generic, kubeadm and statefulset (sharded) variants: everything that differs
//   config.ts      config.yaml and its ConfigMap
//   workload.ts    ServiceAccount, Deployment (kubeadm: hostNetwork, control-plane node, cert copy), and
//                  the sharded variant's StatefulSet with its headless Service
//   bench-job.ts   the distributed benchmark as an Indexed Job (bench-job/)
//   monitoring.ts  Service, ServiceMonitor, PrometheusRule (from src/alerts/rules), dashboard ConfigMaps
//   network.ts     NetworkPolicy
//   index.ts, build.ts  the files of deploy/kubernetes/ and the command that writes (or --check's) them
// Objects are typed with kubernetes-models' interfaces, so a misspelt field fails `tsc`; test/deploy/
// validates the written files against the schemas and the exporter's own config loader.
import path from 'node:path';
import yaml from 'js-yaml';
import prettier from 'prettier';
import { configMap } from './config.js';
import { dashboardConfigMaps, prometheusRule, service, serviceMonitor } from './monitoring.js';
import { DEPLOY_DIR } from './names.js';
import { networkPolicy } from './network.js';
import { VARIANTS, type Variant } from './variants.js';
import { deployment, headlessService, serviceAccount, statefulSet } from './workload.js';
import { BENCH_JOB_DIR, BENCH_PROCESSES, benchJob } from './bench-job.js';

/** A Kubernetes object as written (every generated object has these two). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: { readonly name?: string };
}

/** One generated file: its path below deploy/kubernetes/ and its documents. */
export interface ManifestFile {
  readonly file: string;
  readonly comment: string;
  readonly docs: readonly object[];
}

export const COMMON_DIR = 'common';
const kustomization = (dir: string, resources: string[]): ManifestFile => ({
  file: `${dir}/kustomization.yaml`,
  comment:
    '`kubectl apply -k` of this folder; it only lists files, so any kustomize since kubectl 1.14 builds it.',
  docs: [{ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }],
});

function variantFiles(v: Variant): ManifestFile[] {
  const own: ManifestFile[] = [
    { file: `${v.dir}/configmap.yaml`, comment: `config.yaml for ${v.summary}.`, docs: [configMap(v)] },
    ...(v.shards
      ? [
          {
            file: `${v.dir}/statefulset.yaml`,
            comment: `The exporter, for ${v.summary}.\nPod etcd-monitor-<i> is shard i of ETCD_MONITOR_SHARD_COUNT=${v.shards}: change replicas and that count together.`,
            docs: [statefulSet(v)],
          },
          {
            file: `${v.dir}/service-headless.yaml`,
            comment:
              "The StatefulSet's headless Service (its serviceName); the ServiceMonitor scrapes through the common one.",
            docs: [headlessService(v)],
          },
        ]
      : [
          {
            file: `${v.dir}/deployment.yaml`,
            comment: `The exporter, for ${v.summary}.`,
            docs: [deployment(v)],
          },
        ]),
    ...(v.kubeadm
      ? []
      : [
          {
            file: `${v.dir}/networkpolicy.yaml`,
            comment: 'Ingress from Prometheus to the metrics port; egress to etcd (2379) and DNS only.',
            docs: [networkPolicy()],
          },
        ]),
  ];
  return [...own, kustomization(v.dir, [`../${COMMON_DIR}`, ...own.map((f) => path.basename(f.file))])];
}

/** Every generated file of deploy/kubernetes/ (README.md is written by hand). */
export function manifestFiles(): ManifestFile[] {
  const common: ManifestFile[] = [
    {
      file: `${COMMON_DIR}/serviceaccount.yaml`,
      comment: 'Identity of the exporter; it never calls the API.',
      docs: [serviceAccount()],
    },
    {
      file: `${COMMON_DIR}/service.yaml`,
      comment: 'The metrics port, for the ServiceMonitor.',
      docs: [service()],
    },
    {
      file: `${COMMON_DIR}/servicemonitor.yaml`,
      comment: 'prometheus-operator scrape of the Service (honorLabels: relayed series keep their instance).',
      docs: [serviceMonitor()],
    },
    {
      file: `${COMMON_DIR}/prometheusrule.yaml`,
      comment:
        'The rules of alert-rules/prometheusrule.yaml (src/alerts/rules/, `npm run rules`) with the release label.\nOther thresholds: render them with `npm run rules -- --out-dir …` and apply that file instead.',
      docs: [prometheusRule()],
    },
    {
      file: `${COMMON_DIR}/grafana-dashboards.yaml`,
      comment: 'dashboards/*.json, one ConfigMap each, for the kube-prometheus-stack Grafana sidecar.',
      docs: dashboardConfigMaps(),
    },
  ];
  return [
    ...common,
    kustomization(
      COMMON_DIR,
      common.map((f) => path.basename(f.file)),
    ),
    ...VARIANTS.flatMap(variantFiles),
    {
      file: `${BENCH_JOB_DIR}/job.yaml`,
      comment: `The distributed benchmark: ${BENCH_PROCESSES} pods of an Indexed Job, process i from $JOB_COMPLETION_INDEX.\nNeeds the ConfigMap and Secret of the generic or statefulset variant in the same namespace.`,
      docs: [benchJob()],
    },
    kustomization(BENCH_JOB_DIR, ['job.yaml']),
  ];
}

const HEADER = 'Generated by `npm run kubernetes` (scripts/kubernetes/); do not edit by hand.';

/** The text of a file exactly as committed (prettier-formatted YAML, so `prettier --check` passes). */
export async function renderManifest(m: ManifestFile): Promise<string> {
  const target = path.join(DEPLOY_DIR, m.file);
  const comment = [HEADER, ...m.comment.split('\n')].map((l) => `# ${l}`).join('\n');
  const body = m.docs
    .map((doc) => yaml.dump(doc, { lineWidth: -1, noRefs: true, quotingType: "'" }))
    .join('---\n');
  const options = (await prettier.resolveConfig(target)) ?? {};
  return prettier.format(`${comment}\n${body}`, { ...options, filepath: target });
}

export { DEPLOY_DIR };
