import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_PASSWORD_LINE, AUTH_USER_LINE, CONFIG_MAP_NAME } from '../../scripts/kubernetes/config.js';
import { ROOT } from '../../scripts/kubernetes/names.js';
import {
  GENERIC,
  KUBEADM,
  KUBEADM_PKI,
  STATEFULSET,
  type Variant,
} from '../../scripts/kubernetes/variants.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { only, type Obj } from './manifests.js';
import { copyByInit } from './pod-files.js';
import { preparePod, serveFlags, type PreparedPod } from './pod-config.js';

// The Deployment's args and the ConfigMap's config.yaml go through the exporter's own parsing: the flags
// through the `serve` command's options (src/config/flags.ts, strict, as src/cli.ts), then resolveConfig
// with the image's environment — which opens every TLS and password file it names, here in a pod
// filesystem rebuilt from the manifests (pod-files.ts). Pure: no process, no socket; pod-run.test.ts
// starts the exporter this way against a real etcd.

const roots: string[] = [];
afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const CLIENT = { 'ca.crt': 'ca\n', 'tls.crt': 'cert\n', 'tls.key': 'key\n' };
const KUBEADM_HOST_FILES = Object.fromEntries(
  KUBEADM_PKI.files.map((f) => [`${KUBEADM_PKI.dir}/${f}`, `${f}\n`]),
);

async function resolveVariant(
  v: Variant,
  secrets: Record<string, Record<string, string>>,
  edit?: (key: string, text: string) => string,
): Promise<{ config: ReturnType<typeof resolveConfig>; prepared: PreparedPod }> {
  const prepared = preparePod(v.dir, { secrets, hostFiles: KUBEADM_HOST_FILES, ...(edit ? { edit } : {}) });
  roots.push(prepared.root);
  copyByInit(prepared.files, prepared.pod);
  const config = resolveConfig({ flags: await serveFlags(prepared.args), env: prepared.env });
  return { config, prepared };
}

describe('generic', () => {
  it('args and config.yaml resolve to the example cluster over TLS from the mounted Secret', async () => {
    const { config, prepared } = await resolveVariant(GENERIC, { 'etcd-monitor-etcd-client': CLIENT });
    const { local } = prepared;
    expect(config.clusters).toHaveLength(1);
    const [cluster] = config.clusters;
    expect(cluster!.name).toBe('main');
    expect(cluster!.endpoints).toEqual([
      'https://etcd-0.etcd.example.internal:2379',
      'https://etcd-1.etcd.example.internal:2379',
      'https://etcd-2.etcd.example.internal:2379',
    ]);
    expect(cluster!.tls).toEqual({
      caFile: local('/etc/etcd-monitor/tls/ca.crt'),
      certFile: local('/etc/etcd-monitor/tls/tls.crt'),
      keyFile: local('/etc/etcd-monitor/tls/tls.key'),
    });
    expect(readFileSync(cluster!.tls!.keyFile!, 'utf8')).toBe('key\n');
    expect(cluster!.auth).toBeUndefined();
    expect(config.api.port).toBe(prepared.files.exporter.ports![0]!.containerPort);
    expect(config.api.host).toBe('0.0.0.0');
    // --data-dir is the data emptyDir.
    expect(config.dataDir).toBe(local('/var/lib/etcd-monitor'));
    expect(prepared.files.volumeAt(prepared.files.exporter, '/var/lib/etcd-monitor')?.emptyDir).toBeDefined();
  });

  it('uncommenting the two auth lines (with the password Secret created) gives the etcd user its file', async () => {
    const uncomment = (_key: string, text: string) => {
      expect(text).toContain(AUTH_USER_LINE);
      expect(text).toContain(AUTH_PASSWORD_LINE(GENERIC));
      return text
        .replace(AUTH_USER_LINE, AUTH_USER_LINE.replace('# ', ''))
        .replace(AUTH_PASSWORD_LINE(GENERIC), AUTH_PASSWORD_LINE(GENERIC).replace('# ', ''));
    };
    const { config, prepared } = await resolveVariant(
      GENERIC,
      { 'etcd-monitor-etcd-client': CLIENT, 'etcd-monitor-etcd-password': { password: 's3cret\n' } },
      uncomment,
    );
    expect(config.clusters[0]!.auth).toEqual({
      username: 'etcd-monitor',
      passwordFile: prepared.local('/etc/etcd-monitor/auth/password'),
    });
    // Without the (optional) Secret the mount is empty and the exporter refuses to start, naming the field.
    await expect(resolveVariant(GENERIC, { 'etcd-monitor-etcd-client': CLIENT }, uncomment)).rejects.toThrow(
      /clusters\[0\]\.password_file: cannot read file/,
    );
  });

  it('does not start without the client-certificate Secret (the kubelet would not start the pod either)', async () => {
    await expect(resolveVariant(GENERIC, {})).rejects.toThrow(/Secret etcd-monitor-etcd-client is required/);
  });

  it('the NetworkPolicy lets the exporter reach every endpoint port', async () => {
    const { config, prepared } = await resolveVariant(GENERIC, { 'etcd-monitor-etcd-client': CLIENT });
    const policy = only(prepared.objs, 'NetworkPolicy') as Obj & {
      spec: { egress: Array<{ ports: Array<{ port: number }> }> };
    };
    const allowed = policy.spec.egress.flatMap((r) => r.ports.map((p) => p.port));
    for (const url of config.clusters[0]!.endpoints) expect(allowed).toContain(Number(new URL(url).port));
  });
});

describe('kubeadm', () => {
  it("resolves to 127.0.0.1:2379 as a seed with kubeadm's etcd CA and health-check client certificate", async () => {
    const { config, prepared } = await resolveVariant(KUBEADM, {});
    const { local } = prepared;
    const [cluster] = config.clusters;
    expect(cluster!.name).toBe('kubernetes');
    expect(cluster!.endpoints).toEqual(['https://127.0.0.1:2379']);
    expect(cluster!.discoverMembers).toBe(true);
    // The copies the init container made of /etc/kubernetes/pki/etcd/{ca.crt,healthcheck-client.*}.
    expect(cluster!.tls).toEqual({
      caFile: local('/etc/etcd-monitor/tls/ca.crt'),
      certFile: local('/etc/etcd-monitor/tls/healthcheck-client.crt'),
      keyFile: local('/etc/etcd-monitor/tls/healthcheck-client.key'),
    });
    expect(readFileSync(cluster!.tls!.keyFile!, 'utf8')).toBe(
      'copied from /etc/kubernetes/pki/etcd/healthcheck-client.key\n',
    );
    const port = prepared.files.exporter.ports![0]!;
    expect(config.api.port).toBe(port.containerPort);
    expect(port.hostPort).toBe(port.containerPort);
  });
});

describe("deploy/kubernetes/README.md's overlay", () => {
  const readme = readFileSync(path.join(ROOT, 'deploy/kubernetes/README.md'), 'utf8');
  const block = /```yaml\n# my-etcd-monitor\/kustomization\.yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  const overlay = yaml.load(block ?? '') as {
    resources: string[];
    images: Array<{ name: string }>;
    patches: Array<{ target: { kind: string; name: string }; patch: string }>;
  };

  it("names the generic variant, the manifests' image and their ConfigMap", () => {
    expect(block).toBeDefined();
    expect(overlay.resources[0]).toMatch(/\/deploy\/kubernetes\/generic$/);
    const prepared = preparePod(GENERIC.dir, { secrets: { 'etcd-monitor-etcd-client': CLIENT } });
    roots.push(prepared.root);
    const deployment = only(prepared.objs, 'Deployment') as Obj & {
      spec: { template: { spec: { containers: Array<{ image: string }> } } };
    };
    expect(deployment.spec.template.spec.containers[0]!.image.split(':')[0]).toBe(overlay.images[0]!.name);
    expect(overlay.patches[0]!.target).toEqual({ kind: 'ConfigMap', name: CONFIG_MAP_NAME });
  });

  it('gives a config.yaml the exporter resolves with the mounted Secret', async () => {
    const [op] = yaml.load(overlay.patches[0]!.patch) as Array<{ op: string; path: string; value: string }>;
    expect([op!.op, op!.path]).toEqual(['replace', '/data/config.yaml']);
    const { config, prepared } = await resolveVariant(
      GENERIC,
      { 'etcd-monitor-etcd-client': CLIENT },
      () => op!.value,
    );
    expect(config.clusters.map((c) => [c.name, c.endpoints])).toEqual([
      ['main', ['https://10.0.0.11:2379', 'https://10.0.0.12:2379', 'https://10.0.0.13:2379']],
    ]);
    expect(config.clusters[0]!.tls?.keyFile).toBe(prepared.local('/etc/etcd-monitor/tls/tls.key'));
  });
});

describe('statefulset', () => {
  const secrets = { 'etcd-monitor-etcd-client': CLIENT };

  /** The config replica `ordinal` resolves, as the pod `etcd-monitor-<ordinal>` would. */
  async function replica(ordinal: number, podIndexLabel: boolean) {
    const prepared = preparePod(STATEFULSET.dir, { secrets });
    roots.push(prepared.root);
    // The env's ETCD_MONITOR_SHARD_INDEX comes from the pod-index label (empty here, as without the
    // label on Kubernetes < 1.28); the kubelet sets HOSTNAME to the pod name.
    expect(prepared.env['ETCD_MONITOR_SHARD_INDEX']).toBe('');
    expect(prepared.env['ETCD_MONITOR_SHARD_COUNT']).toBe('3');
    const env = {
      ...prepared.env,
      HOSTNAME: `etcd-monitor-${ordinal}`,
      ...(podIndexLabel ? { ETCD_MONITOR_SHARD_INDEX: String(ordinal) } : {}),
    };
    return resolveConfig({ flags: await serveFlags(prepared.args), env });
  }

  it.each([false, true])(
    'each of the 3 pods watches one of the 3 clusters, all of them together (pod-index label: %s)',
    async (label) => {
      const configs = await Promise.all([0, 1, 2].map((i) => replica(i, label)));
      expect(configs.map((c) => c.shard)).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
      expect(configs.map((c) => c.clusters.map((cl) => cl.name))).toEqual([['cache'], ['main'], ['events']]);
      for (const c of configs) expect(c.clusters[0]!.tls?.certFile).toMatch(/tls\/tls\.crt$/);
    },
  );

  it("`etcd-monitor check` exec'd in a pod (only --config) resolves the same shard as its exporter", async () => {
    const prepared = preparePod(STATEFULSET.dir, { secrets });
    roots.push(prepared.root);
    const env = { ...prepared.env, HOSTNAME: 'etcd-monitor-2', ETCD_MONITOR_SHARD_INDEX: '2' };
    const config = resolveConfig({
      flags: { config: prepared.local('/etc/etcd-monitor/config/config.yaml') },
      env,
    });
    expect(config.shard).toEqual({ index: 2, count: 3 });
    expect(config.clusters.map((c) => c.name)).toEqual(['events']);
  });

  it('a fourth pod (replicas raised without --shard-count) is refused at start-up, naming the mismatch (the CLI exits 2 on it)', async () => {
    await expect(replica(3, false)).rejects.toThrow(
      /--shard-index: the ordinal 3 of \$HOSTNAME "etcd-monitor-3" must be below --shard-count 3/,
    );
  });
});
