import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePort } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../../harness/processes.js';
import { ROOT, RUN_AS } from '../../scripts/kubernetes/names.js';
import { GENERIC, KUBEADM, KUBEADM_PKI, STATEFULSET } from '../../scripts/kubernetes/variants.js';
import { copyByInit } from './pod-files.js';
import { preparePod, type PreparedPod } from './pod-config.js';

// Each variant's exporter container, run as the pod would run it, against a real 3-member TLS etcd: the
// files the manifests mount (Secret with the cluster's real client certificate; for kubeadm the node's
// /etc/kubernetes/pki/etcd, copied by the init container's own `install` command), the Deployment's args
// and config.yaml as shipped, except what a user must change (the endpoints' ports, the cluster's URLs in
// the generic example as the README's overlay does) and what a shared test machine needs (a free port
// instead of the fixed one, loopback only). The kubelet's probes go to the probe paths.

let cluster: EtcdCluster;
const roots: string[] = [];
const procs: TrackedProcess[] = [];

beforeAll(async () => {
  cluster = await startCluster({ size: 3, tls: true });
});
afterAll(async () => {
  for (const p of procs) await terminate(p, 'SIGTERM', 8000);
  await cluster?.destroy();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const tlsFile = (which: 'caFile' | 'certFile' | 'keyFile') => readFileSync(cluster.tls![which], 'utf8');

interface Probe {
  httpGet: { path: string; port: string };
}

/** Starts the exporter of a prepared pod the way the image's entrypoint does, on a free loopback port. */
async function run(
  prepared: PreparedPod,
  env: Record<string, string> = {},
): Promise<{ url: string; readiness: number[] }> {
  const port = await freePort();
  const args = [
    ...prepared.args.map((a) => (a.startsWith('--api-port=') ? `--api-port=${port}` : a)),
    '--api-host=127.0.0.1',
  ];
  const proc = spawnTracked(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'serve', ...args],
    {
      label: 'etcd-monitor (pod)',
      cwd: ROOT,
      env: { PATH: process.env['PATH'], ...prepared.env, ...env },
    },
  );
  procs.push(proc);
  const exporter = prepared.files.exporter as typeof prepared.files.exporter & {
    livenessProbe: Probe;
    readinessProbe: Probe;
  };
  // The probes name the container port; it is the one --api-port listens on (wiring.test.ts).
  expect(exporter.ports!.map((p) => p.name)).toContain(exporter.readinessProbe.httpGet.port);
  const url = `http://127.0.0.1:${port}`;
  const readiness: number[] = [];
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error('exited');
        const res = await fetch(url + exporter.readinessProbe.httpGet.path).catch(() => undefined);
        if (res) readiness.push(res.status);
        return res?.status === 200;
      },
      { what: 'the readiness probe to pass', timeoutMs: 45_000, intervalMs: 100 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- exporter output ---\n${proc.output()}`);
  }
  const live = await fetch(url + exporter.livenessProbe.httpGet.path);
  expect(live.status).toBe(200);
  expect(await live.json()).toEqual({ status: 'ok' });
  return { url, readiness };
}

/** Members the exporter reaches and finds healthy, each at its own advertised URL (one series per member). */
const healthyMembers = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('etcd_monitor_member_healthy{') && l.includes(`cluster="${name}"`))
    .filter((l) => l.endsWith(' 1')).length;
};

describe('generic', () => {
  it('starts with the mounted Secret and config.yaml, passes both probes and watches the cluster', async () => {
    const prepared = preparePod(GENERIC.dir, {
      secrets: {
        'etcd-monitor-etcd-client': {
          'ca.crt': tlsFile('caFile'),
          'tls.crt': tlsFile('certFile'),
          'tls.key': tlsFile('keyFile'),
        },
      },
      // The README's overlay: this cluster's URLs instead of the example ones.
      edit: (_key, text) => {
        const lines = GENERIC.endpoints.map((e) => `      - ${e}\n`).join('');
        expect(text).toContain(lines);
        return text.replace(lines, cluster.endpoints.map((e) => `      - ${e}\n`).join(''));
      },
    });
    roots.push(prepared.root);
    const { url, readiness } = await run(prepared);
    expect(readiness.at(-1)).toBe(200);
    expect(readiness.every((s) => s === 503 || s === 200)).toBe(true);
    await waitFor(async () => (await healthyMembers(url, GENERIC.clusterName)) === 3, {
      what: 'the exporter to find 3 healthy members',
      timeoutMs: 30_000,
    });
  });
});

describe('kubeadm', () => {
  it("copies kubeadm's certificates with the init container's command and watches every member from the 127.0.0.1 seed", async () => {
    const [seed] = cluster.endpoints;
    expect(new URL(seed!).hostname).toBe('127.0.0.1');
    const hostFiles = {
      [`${KUBEADM_PKI.dir}/ca.crt`]: tlsFile('caFile'),
      [`${KUBEADM_PKI.dir}/healthcheck-client.crt`]: tlsFile('certFile'),
      [`${KUBEADM_PKI.dir}/healthcheck-client.key`]: tlsFile('keyFile'),
    };
    const prepared = preparePod(KUBEADM.dir, {
      secrets: {},
      hostFiles,
      // The test cluster's members listen on free ports, not on 2379.
      edit: (_key, text) => {
        expect(text).toContain(`      - https://127.0.0.1:2379\n`);
        return text.replace('https://127.0.0.1:2379', seed!);
      },
    });
    roots.push(prepared.root);
    const root = process.getuid?.() === 0;
    copyByInit(prepared.files, prepared.pod, (_init, command) => {
      // As the init container runs it (root, so it can chown to the exporter's uid). Not root here: the
      // same command with our own uid and gid, which still exercises its syntax and mode.
      const [bin, ...rest] = command;
      const own = rest.map((a, i) =>
        !root && (rest[i - 1] === '-o' || rest[i - 1] === '-g')
          ? String(rest[i - 1] === '-o' ? process.getuid!() : process.getgid!())
          : a,
      );
      execFileSync(bin!, own, { stdio: 'pipe' });
    });
    const key = statSync(prepared.local('/etc/etcd-monitor/tls/healthcheck-client.key'));
    expect(key.mode & 0o777).toBe(0o400);
    if (root) expect([key.uid, key.gid]).toEqual([RUN_AS, RUN_AS]);
    const { url } = await run(prepared);
    // One seed, three members: --discover-members follows the member list to every advertised URL.
    await waitFor(async () => (await healthyMembers(url, KUBEADM.clusterName)) === 3, {
      what: 'the exporter to find 3 healthy members from one seed',
      timeoutMs: 30_000,
    });
  });
});

describe('statefulset', () => {
  it('3 pods, each with its pod name as hostname, watch one cluster each: every cluster once', async () => {
    const clientSecret = {
      'etcd-monitor-etcd-client': {
        'ca.crt': tlsFile('caFile'),
        'tls.crt': tlsFile('certFile'),
        'tls.key': tlsFile('keyFile'),
      },
    };
    const real = cluster.endpoints.map((e) => `      - ${e}\n`).join('');
    // The overlay a user writes: each example cluster's URLs replaced (here all by the one test cluster's).
    const examples = [STATEFULSET, ...(STATEFULSET.moreClusters ?? [])].map((c) =>
      c.endpoints.map((e) => `      - ${e}\n`).join(''),
    );
    const owners: string[][] = [];
    for (const ordinal of [0, 1, 2]) {
      const prepared = preparePod(STATEFULSET.dir, {
        secrets: clientSecret,
        edit: (_key, text) =>
          examples.reduce((t, lines) => {
            expect(t).toContain(lines);
            return t.replace(lines, real);
          }, text),
      });
      roots.push(prepared.root);
      // The kubelet sets HOSTNAME to the pod name; the pod-index label is there on Kubernetes >= 1.28.
      const env = {
        HOSTNAME: `etcd-monitor-${ordinal}`,
        ...(ordinal === 2 ? { ETCD_MONITOR_SHARD_INDEX: '2' } : {}),
      };
      const { url } = await run(prepared, env);
      const ready = (await (await fetch(`${url}/ready`)).json()) as { clusters: string[] };
      expect(ready.clusters).toHaveLength(1);
      owners.push(ready.clusters);
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toContain(`etcd_monitor_shard_info{shard_index="${ordinal}",shard_count="3"} 1`);
      await waitFor(async () => (await healthyMembers(url, ready.clusters[0]!)) === 3, {
        what: `pod ${ordinal} to find 3 healthy members of ${ready.clusters[0]}`,
        timeoutMs: 30_000,
      });
    }
    expect(owners.flat().sort()).toEqual(['cache', 'events', 'main']);
  });
});
