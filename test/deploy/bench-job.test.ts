import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BENCH_JOB_DIR, BENCH_JOB_NAME, BENCH_PROCESSES } from '../../scripts/kubernetes/bench-job.js';
import { GENERIC } from '../../scripts/kubernetes/variants.js';
import { distributedFromFlags } from '../../src/loadgen/distributed-command.js';
import { benchCommand } from '../../src/loadgen/commands.js';
import { configFromFlags } from '../../src/loadgen/options.js';
import { objectsOfVariant, type Obj } from './manifests.js';
import { localize, parseFlags, preparePod } from './pod-config.js';

// deploy/kubernetes/bench-job: the distributed benchmark as an Indexed Job. Not run here (that needs a
// cluster); its args go through the `bench` command's own options (strict, as src/cli.ts parses them),
// each pod's $JOB_COMPLETION_INDEX becomes its process index, and the ConfigMap and Secret it mounts
// (the generic variant's) resolve to a cluster. test/loadgen/ runs the distributed benchmark itself.

const roots: string[] = [];
afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Job = Obj & {
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    backoffLimit: number;
    template: {
      spec: {
        restartPolicy: string;
        containers: Array<{ args: string[]; volumeMounts: Array<{ name: string; mountPath: string }> }>;
        volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>;
      };
    };
  };
};

const job = objectsOfVariant(BENCH_JOB_DIR)[0]!.obj as Job;
const container = job.spec.template.spec.containers[0]!;

function benchFlags(args: readonly string[]): Promise<Record<string, unknown>> {
  return parseFlags(benchCommand.builder as Parameters<typeof parseFlags>[0], args);
}

describe('bench-job', () => {
  it('is an Indexed Job of N pods, all at once, not retried', () => {
    expect(job.metadata.name).toBe(BENCH_JOB_NAME);
    expect(job.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: BENCH_PROCESSES,
      parallelism: BENCH_PROCESSES,
      backoffLimit: 0,
    });
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
  });

  it.each([0, 1, 2])(
    "pod %i: its args parse with bench's options and it is process i of N from $JOB_COMPLETION_INDEX",
    async (index) => {
      const [sub, ...rest] = container.args;
      expect(sub).toBe('bench');
      const flags = await benchFlags(rest);
      expect(flags['processes']).toBe(BENCH_PROCESSES);
      expect(flags['run-id']).toBe(job.metadata.name);
      expect(flags['process-index']).toBeUndefined();
      const distributed = distributedFromFlags(flags, { JOB_COMPLETION_INDEX: String(index) });
      expect(distributed).toMatchObject({ processes: BENCH_PROCESSES, index });
    },
  );

  it("mounts the generic variant's ConfigMap and Secret at the paths its --config names", async () => {
    const generic = objectsOfVariant(GENERIC.dir).map((o) => o.obj);
    const names = (kind: string) => generic.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    const volumes = job.spec.template.spec.volumes;
    for (const v of volumes.filter((v) => v.configMap))
      expect(names('ConfigMap')).toContain(v.configMap!.name);
    // The same pod paths as the exporter's: its config.yaml resolves in a pod rebuilt from the generic files.
    const prepared = preparePod(GENERIC.dir, {
      secrets: { 'etcd-monitor-etcd-client': { 'ca.crt': 'ca\n', 'tls.crt': 'c\n', 'tls.key': 'k\n' } },
    });
    roots.push(prepared.root);
    for (const m of container.volumeMounts) {
      const exporterMount = prepared.files.exporter.volumeMounts?.find((e) => e.mountPath === m.mountPath);
      if (m.name !== 'tmp') expect(exporterMount?.name, m.mountPath).toBe(m.name);
    }
    const flags = await benchFlags(container.args.slice(1).map((a) => localize(a, prepared.local)));
    const config = configFromFlags(flags, { JOB_COMPLETION_INDEX: '0' });
    expect(config.clusters.map((c) => c.name)).toEqual([GENERIC.clusterName]);
    expect(config.clusters[0]!.tls?.keyFile).toBe(prepared.local('/etc/etcd-monitor/tls/tls.key'));
  });
});
