// The distributed benchmark as a Kubernetes Indexed Job: N pods run `etcd-monitor bench --processes N`,
// each its own part of the load, and coordinate through the target etcd under the run's prefix
// (src/loadgen/distributed.ts); pod i is process i from $JOB_COMPLETION_INDEX, pod 0 merges and reports.
// It reads the ConfigMap and client-certificate Secret of the generic (or statefulset) variant: apply one
// of those in the namespace first.
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { CONFIG_MAP_NAME } from './config.js';
import {
  CLIENT_TLS_SECRET,
  COMMON_LABELS,
  IMAGE,
  NAME,
  PASSWORD_SECRET,
  PATHS,
  restrictedContainer,
  restrictedPod,
} from './names.js';

export const BENCH_JOB_DIR = 'bench-job';
/** Also the run id: every pod of the Job passes it, so all write under /etcd-monitor/bench/<name>/. */
export const BENCH_JOB_NAME = `${NAME}-bench`;
/** Pods (processes) of the run: completions and parallelism alike, since all must meet at the barrier. */
export const BENCH_PROCESSES = 3;

/** The benchmark's arguments after the image's entrypoint (`node … bin/etcd-monitor.js`). */
export function benchArgs(): string[] {
  return [
    'bench',
    `--config=${PATHS.configFile}`,
    `--processes=${BENCH_PROCESSES}`,
    // --process-index is left to its default, $JOB_COMPLETION_INDEX, which the Job sets in each pod.
    `--run-id=${BENCH_JOB_NAME}`,
    '--type=mixed',
    '--duration=60s',
  ];
}

export function benchJob(): IJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: BENCH_JOB_NAME,
      labels: { ...COMMON_LABELS, 'app.kubernetes.io/component': 'benchmark' },
    },
    spec: {
      completionMode: 'Indexed',
      completions: BENCH_PROCESSES,
      // All at once: each process waits at the start barrier for the others (--barrier-timeout, 5 min).
      parallelism: BENCH_PROCESSES,
      // A retried pod would find its run's barrier gone: one failure fails the run (process 0 cleans up).
      backoffLimit: 0,
      // Kept a day for `kubectl logs job/etcd-monitor-bench` (process 0 prints the merged report).
      ttlSecondsAfterFinished: 86_400,
      activeDeadlineSeconds: 1800,
      template: {
        metadata: { labels: { ...COMMON_LABELS, 'app.kubernetes.io/component': 'benchmark' } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: restrictedPod(),
          containers: [
            {
              name: 'bench',
              image: IMAGE,
              imagePullPolicy: 'IfNotPresent',
              args: benchArgs(),
              resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi' } },
              securityContext: restrictedContainer(),
              volumeMounts: [
                { name: 'config', mountPath: PATHS.configDir, readOnly: true },
                { name: 'etcd-tls', mountPath: PATHS.tlsDir, readOnly: true },
                { name: 'etcd-password', mountPath: PATHS.authDir, readOnly: true },
                { name: 'tmp', mountPath: PATHS.tmpDir },
              ],
            },
          ],
          volumes: [
            {
              name: 'config',
              configMap: { name: CONFIG_MAP_NAME, items: [{ key: 'config.yaml', path: 'config.yaml' }] },
            },
            {
              name: 'etcd-tls',
              secret: {
                secretName: CLIENT_TLS_SECRET.name,
                defaultMode: 0o440,
                items: CLIENT_TLS_SECRET.keys.map((key) => ({ key, path: key })),
              },
            },
            {
              name: 'etcd-password',
              secret: {
                secretName: PASSWORD_SECRET.name,
                defaultMode: 0o440,
                items: [{ key: PASSWORD_SECRET.key, path: PASSWORD_SECRET.key }],
                optional: true,
              },
            },
            { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
          ],
        },
      },
    },
  };
}
