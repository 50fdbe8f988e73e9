import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_PASSWORD_LINE, AUTH_USER_LINE } from '../../scripts/kubernetes/config.js';
import { GENERIC, KUBEADM, type Variant } from '../../scripts/kubernetes/variants.js';
import { givenFlags, withConfigFlags } from '../../src/config/flags.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ROOT } from '../../scripts/kubernetes/names.js';
import { objectsOfVariant, only, type Obj } from './manifests.js';
import { materialize, type PodSpec } from './pod-files.js';

// The Deployment's args and the ConfigMap's config.yaml go through the exporter's own parsing: the flags
// through the `serve` command's yargs options (src/config/flags.ts, strict, as src/cli.ts), then
// resolveConfig with the image's environment — which opens every TLS and password file it names, here in
// a pod filesystem rebuilt from the manifests (test/deploy/pod-files.ts).

const tmps: string[] = [];
afterEach(() => {
  for (const dir of tmps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The image's ETCD_MONITOR_* environment (Dockerfile ENV), which the container inherits. */
const imageEnv = Object.fromEntries(
  [...readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').matchAll(/(ETCD_MONITOR_[A-Z_]+)=(\S+)/g)].map(
    (m) => [m[1]!, m[2]!],
  ),
);

async function resolveVariant(
  v: Variant,
  secrets: string[],
  edit?: (key: string, text: string) => string,
): Promise<{
  config: ReturnType<typeof resolveConfig>;
  local: (p: string) => string;
  pod: PodSpec;
  objs: Obj[];
}> {
  const objs = objectsOfVariant(v.dir).map((o) => o.obj);
  const pod = (only(objs, 'Deployment') as Obj & { spec: { template: { spec: PodSpec } } }).spec.template
    .spec;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'deploy-config-'));
  tmps.push(tmp);
  const { local, mounts } = materialize(tmp, objs, pod, new Set(secrets), (key, text) =>
    // config.yaml's paths are pod paths: point them into the rebuilt filesystem.
    intoRoot(edit ? edit(key, text) : text, mountsOf(pod), tmp),
  );
  expect(mounts.length).toBeGreaterThanOrEqual(4);
  const [sub, ...args] = pod.containers[0]!.args ?? [];
  expect(sub).toBe('serve');
  const argv = await withConfigFlags(
    yargs(args.map((a) => a.replace(/=(\/.*)$/, (_m, p: string) => `=${local(p)}`))),
  )
    .parserConfiguration({ 'dot-notation': false })
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  const env = {
    ...imageEnv,
    ...Object.fromEntries((pod.containers[0]!.env ?? []).map((e) => [e.name, e.value])),
  };
  const config = resolveConfig({ flags: givenFlags(argv as Record<string, unknown>), env });
  return { config, local, pod, objs };
}

const mountsOf = (pod: PodSpec) => (pod.containers[0]!.volumeMounts ?? []).map((m) => m.mountPath);
/** Rewrites every absolute path below one of the mounts to the same path below `root`. */
function intoRoot(text: string, mounts: string[], root: string): string {
  return text.replace(/(\s)(\/[^\s]+)/g, (all, space: string, p: string) =>
    mounts.some((m) => p.startsWith(`${m}/`)) ? `${space}${path.join(root, p)}` : all,
  );
}

describe('generic', () => {
  it('args and config.yaml resolve to the example cluster over TLS from the mounted Secret', async () => {
    const { config, local, pod } = await resolveVariant(GENERIC, ['etcd-monitor-etcd-client']);
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
    expect(cluster!.auth).toBeUndefined();
    const port = pod.containers[0]!.ports![0]!.containerPort;
    expect(config.api.port).toBe(port);
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe(local('/var/lib/etcd-monitor'));
    expect(mountsOf(pod)).toContain('/var/lib/etcd-monitor');
  });

  it('uncommenting the two auth lines (with the password Secret created) gives the etcd user its file', async () => {
    const uncomment = (_key: string, text: string) => {
      expect(text).toContain(AUTH_USER_LINE);
      expect(text).toContain(AUTH_PASSWORD_LINE(GENERIC));
      return text
        .replace(AUTH_USER_LINE, AUTH_USER_LINE.replace('# ', ''))
        .replace(AUTH_PASSWORD_LINE(GENERIC), AUTH_PASSWORD_LINE(GENERIC).replace('# ', ''));
    };
    const { config, local } = await resolveVariant(
      GENERIC,
      ['etcd-monitor-etcd-client', 'etcd-monitor-etcd-password'],
      uncomment,
    );
    expect(config.clusters[0]!.auth).toEqual({
      username: 'etcd-monitor',
      passwordFile: local('/etc/etcd-monitor/auth/password'),
    });
    // Without the (optional) Secret the mount is empty and the exporter refuses to start, naming the field.
    await expect(resolveVariant(GENERIC, ['etcd-monitor-etcd-client'], uncomment)).rejects.toThrow(
      /clusters\[0\]\.password_file: cannot read file/,
    );
  });

  it('refuses to start without the client-certificate Secret (the kubelet would not start the pod either)', async () => {
    await expect(resolveVariant(GENERIC, [])).rejects.toThrow(/Secret etcd-monitor-etcd-client is required/);
  });

  it('the NetworkPolicy lets the exporter reach every endpoint port', async () => {
    const { config, objs } = await resolveVariant(GENERIC, ['etcd-monitor-etcd-client']);
    const policy = only(objs, 'NetworkPolicy') as Obj & {
      spec: { egress: Array<{ ports: Array<{ port: number }> }> };
    };
    const allowed = policy.spec.egress.flatMap((r) => r.ports.map((p) => p.port));
    for (const url of config.clusters[0]!.endpoints)
      expect(allowed).toContain(Number(new URL(url).port || 2379));
  });
});

describe('kubeadm', () => {
  it("resolves to 127.0.0.1:2379 as a seed with kubeadm's etcd CA and health-check client certificate", async () => {
    const { config, local, pod } = await resolveVariant(KUBEADM, []);
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
      'host:/etc/kubernetes/pki/etcd/healthcheck-client.key\n',
    );
    const port = pod.containers[0]!.ports![0]!;
    expect(config.api.port).toBe(port.containerPort);
    expect(port.hostPort).toBe(port.containerPort);
  });
});
