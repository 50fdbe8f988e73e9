import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/kubernetes/names.js';
import { appApi } from '../../src/server/app.openapi.js';
import { FIELDS } from '../../src/config/fields.js';
import { parseDurationMs } from '../../src/util/duration.js';
import { VARIANTS } from '../../scripts/kubernetes/variants.js';
import { documentsOf, objectsOfVariant, only, workloadOf, type Obj } from './manifests.js';

// The objects point at each other by labels, names and ports; a typo in any of them is a silent
// "no targets" in Prometheus. Each link is checked on the committed files of every variant.

interface Port {
  name?: string;
  port?: number | string;
  containerPort?: number;
  targetPort?: number | string;
  protocol?: string;
}
interface Container {
  name: string;
  args?: string[];
  ports?: Port[];
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  hostNetwork?: boolean;
  nodeSelector?: Record<string, string>;
  tolerations?: Array<Record<string, string>>;
  volumes: Array<{ name: string; [source: string]: unknown }>;
}
type Deployment = Obj & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};
type Service = Obj & { spec: { selector: Record<string, string>; ports: Port[] } };
type ServiceMonitor = Obj & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: Array<{ port: string; path?: string; interval?: string; honorLabels?: boolean }>;
  };
};
type NetworkPolicy = Obj & {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: Array<{ from?: unknown[]; ports: Port[] }>;
    egress: Array<{ to?: unknown[]; ports: Port[] }>;
  };
};

const subset = (small: Record<string, string>, big: Record<string, string> | undefined) =>
  Object.entries(small).every(([k, v]) => big?.[k] === v);

/** The container port a Service targetPort or probe port (a name or a number) resolves to. */
function containerPort(c: Container, port: string | number | undefined): Port | undefined {
  return c.ports?.find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

describe.each(VARIANTS.map((v) => v.dir))('%s', (dir) => {
  const objs = objectsOfVariant(dir).map((o) => o.obj);
  const deployment = workloadOf(objs) as Deployment;
  // The common Service, which the ServiceMonitor scrapes (the statefulset variant also has a headless one).
  const service = only(objs, 'Service', 'etcd-monitor') as Service;
  const monitor = only(objs, 'ServiceMonitor') as ServiceMonitor;
  const pod = deployment.spec.template.spec;
  const exporter = pod.containers.find((c) => c.name === 'exporter')!;

  it('the Deployment (StatefulSet) selects its own pods; the Service selects those pods', () => {
    expect(pod.containers.map((c) => c.name)).toEqual(['exporter']);
    expect(subset(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    expect(Object.keys(service.spec.selector).length).toBeGreaterThan(0);
    expect(subset(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
  });

  it("the Service's port reaches the exporter's metrics port", () => {
    const sp = service.spec.ports[0]!;
    expect(service.spec.ports).toHaveLength(1);
    const target = containerPort(exporter, sp.targetPort);
    expect(target, `targetPort ${sp.targetPort}`).toBeDefined();
    expect(target!.protocol).toBe('TCP');
    const args = exporter.args ?? [];
    expect(args).toContain(`--api-port=${target!.containerPort}`);
  });

  it("the ServiceMonitor selects the Service's labels and names one of its ports, honouring labels", () => {
    expect(subset(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    // It must not pick the dashboards' ConfigMaps' owner or anything else: only this one Service.
    const services = objs.filter((o) => o.kind === 'Service');
    expect(services.filter((s) => subset(monitor.spec.selector.matchLabels, s.metadata.labels))).toHaveLength(
      1,
    );
    expect(monitor.spec.endpoints).toHaveLength(1);
    const ep = monitor.spec.endpoints[0]!;
    expect(service.spec.ports.map((p) => p.name)).toContain(ep.port);
    expect(ep.path).toBe('/metrics');
    // Scraped as often as the exporter collects (--metrics-interval's default): faster re-reads one round.
    expect(parseDurationMs(ep.interval!)).toBe(FIELDS.metricsInterval.defaultValue);
    // Relayed member series carry their member's own `instance` label.
    expect(ep.honorLabels).toBe(true);
  });

  it('kube-prometheus-stack picks up the ServiceMonitor and PrometheusRule (release label)', () => {
    const rule = only(objs, 'PrometheusRule');
    for (const o of [monitor, rule]) expect(o.metadata.labels?.['release']).toBe('kube-prometheus-stack');
  });

  it('probes /health (liveness) and /ready (readiness) on the metrics port', () => {
    expect(exporter.livenessProbe?.httpGet.path).toBe('/health');
    expect(exporter.readinessProbe?.httpGet.path).toBe('/ready');
    for (const probe of [exporter.livenessProbe!, exporter.readinessProbe!])
      expect(containerPort(exporter, probe.httpGet.port)).toBeDefined();
    // The routes as the exporter documents them (test/server/openapi.test.ts holds the app to this):
    // /health is always 200; /ready is 503 until the first collection round, so a pod leaves the
    // Service's endpoints only while it starts.
    const codes = (p: string) =>
      Object.keys(
        (appApi.paths[p] as { get?: { responses?: object } } | undefined)?.get?.responses ?? {},
      ).sort();
    expect(codes('/health')).toEqual(['200']);
    expect(codes('/ready')).toEqual(['200', '503']);
  });

  it('runs the exporter unprivileged with a read-only root filesystem and writable data and tmp dirs', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    expect(exporter.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(exporter.securityContext?.['runAsUser']).toBeUndefined();
    const byName = new Map(pod.volumes.map((v) => [v.name, v]));
    const writable = (exporter.volumeMounts ?? []).filter((m) => !m.readOnly);
    expect(writable.map((m) => m.mountPath).sort()).toEqual(['/tmp', '/var/lib/etcd-monitor']);
    for (const m of writable) expect(byName.get(m.name)?.['emptyDir'], m.mountPath).toBeDefined();
    // The user the pod runs as is the image's (Dockerfile `USER node`, uid 1000 in node:20-slim).
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
  });

  it('every volume mount has a volume and every volume is mounted', () => {
    const names = pod.volumes.map((v) => v.name);
    const mounted = [...pod.containers, ...(pod.initContainers ?? [])].flatMap((c) =>
      (c.volumeMounts ?? []).map((m) => m.name),
    );
    for (const m of mounted) expect(names).toContain(m);
    expect(new Set(mounted)).toEqual(new Set(names));
  });

  it('names are valid and every ConfigMap fits (1 MiB object, 256 KiB client-side apply annotation)', () => {
    for (const o of objs) {
      expect(o.metadata.name, o.kind).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(o.metadata.name.length).toBeLessThanOrEqual(63);
      if (o.kind === 'ConfigMap') expect(JSON.stringify(o).length, o.metadata.name).toBeLessThan(262_144);
    }
  });
});

describe.each(['generic', 'statefulset'])('%s (pod network, Secret)', (dir) => {
  const objs = objectsOfVariant(dir).map((o) => o.obj);
  const policy = only(objs, 'NetworkPolicy') as NetworkPolicy;
  const deployment = workloadOf(objs) as Deployment;
  const service = only(objs, 'Service', 'etcd-monitor') as Service;
  const exporter = deployment.spec.template.spec.containers[0]!;

  it("the NetworkPolicy applies to the exporter's pods and admits the Service's port", () => {
    expect(subset(policy.spec.podSelector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    const target = containerPort(exporter, service.spec.ports[0]!.targetPort)!;
    const admitted = policy.spec.ingress.flatMap((r) => r.ports);
    expect(
      admitted.some(
        (p) => (p.port === target.name || p.port === target.containerPort) && (p.protocol ?? 'TCP') === 'TCP',
      ),
    ).toBe(true);
    // Only Prometheus: every ingress rule names its peers.
    for (const r of policy.spec.ingress) expect(r.from?.length).toBeGreaterThan(0);
  });

  it('lets the exporter out to etcd (2379/TCP) and DNS (53/UDP and TCP) only', () => {
    const out = policy.spec.egress.flatMap((r) => r.ports.map((p) => `${p.port}/${p.protocol}`)).sort();
    expect(out).toEqual(['2379/TCP', '53/TCP', '53/UDP']);
  });

  it('mounts the client-certificate Secret and the optional password Secret read-only', () => {
    const pod = deployment.spec.template.spec;
    const secrets = pod.volumes.filter((v) => v['secret']) as Array<{
      name: string;
      secret: { secretName: string; optional?: boolean; defaultMode?: number };
    }>;
    expect(secrets.map((s) => [s.secret.secretName, s.secret.optional ?? false])).toEqual([
      ['etcd-monitor-etcd-client', false],
      ['etcd-monitor-etcd-password', true],
    ]);
    for (const s of secrets) {
      expect(s.secret.defaultMode).toBe(0o440);
      expect(exporter.volumeMounts?.find((m) => m.name === s.name)?.readOnly).toBe(true);
    }
  });
});

/** What Pod Security "restricted" checks on a pod (kubernetes.io/docs/concepts/security/pod-security-standards). */
function restrictedViolations(pod: PodSpec & Record<string, unknown>): string[] {
  const out: string[] = [];
  const allowedVolumes = [
    'configMap',
    'csi',
    'downwardAPI',
    'emptyDir',
    'ephemeral',
    'persistentVolumeClaim',
    'projected',
    'secret',
  ];
  for (const v of pod.volumes) {
    const type = Object.keys(v).find((k) => k !== 'name')!;
    if (!allowedVolumes.includes(type)) out.push(`volume ${v.name}: ${type}`);
  }
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[host]) out.push(host);
  const podSc = (pod.securityContext ?? {}) as { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const sc = (c.securityContext ?? {}) as {
      runAsNonRoot?: boolean;
      runAsUser?: number;
      allowPrivilegeEscalation?: boolean;
      capabilities?: { drop?: string[]; add?: string[] };
    };
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true || sc.runAsUser === 0)
      out.push(`${c.name}: may run as root`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${c.name}: privilege escalation`);
    if (!sc.capabilities?.drop?.includes('ALL')) out.push(`${c.name}: capabilities not dropped`);
    for (const cap of sc.capabilities?.add ?? [])
      if (cap !== 'NET_BIND_SERVICE') out.push(`${c.name}: adds ${cap}`);
    for (const p of c.ports ?? []) if ((p as { hostPort?: number }).hostPort) out.push(`${c.name}: hostPort`);
  }
  if (podSc.seccompProfile?.type !== 'RuntimeDefault' && podSc.seccompProfile?.type !== 'Localhost')
    out.push('seccomp');
  return out;
}

describe('Pod Security', () => {
  const podOf = (dir: string) =>
    (workloadOf(objectsOfVariant(dir).map((o) => o.obj)) as Deployment).spec.template.spec as PodSpec &
      Record<string, unknown>;

  it.each(['generic', 'statefulset'])('the %s variant meets "restricted"', (dir) => {
    expect(restrictedViolations(podOf(dir))).toEqual([]);
  });

  it('the kubeadm variant needs "privileged", for exactly the reasons its README gives', () => {
    expect(restrictedViolations(podOf('kubeadm')).sort()).toEqual(
      [
        'volume etcd-pki: hostPath',
        'hostNetwork',
        'copy-etcd-certs: may run as root',
        'copy-etcd-certs: adds CHOWN',
        'exporter: hostPort',
      ].sort(),
    );
  });
});

describe('kubeadm', () => {
  const objs = objectsOfVariant('kubeadm').map((o) => o.obj);
  const pod = (only(objs, 'Deployment') as Deployment).spec.template.spec;

  it('runs on a control-plane node on the host network, reading /etc/kubernetes/pki/etcd', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(pod.tolerations).toContainEqual({
      key: 'node-role.kubernetes.io/control-plane',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    const hostPaths = pod.volumes.filter((v) => v['hostPath']);
    expect(hostPaths.map((v) => (v['hostPath'] as { path: string }).path)).toEqual([
      '/etc/kubernetes/pki/etcd',
    ]);
    // Only the init container that copies the certificates sees the node's directory, read-only.
    const exporter = pod.containers[0]!;
    expect(exporter.volumeMounts?.some((m) => m.name === hostPaths[0]!.name)).toBe(false);
    const init = pod.initContainers ?? [];
    expect(init).toHaveLength(1);
    expect(init[0]!.volumeMounts?.find((m) => m.name === hostPaths[0]!.name)?.readOnly).toBe(true);
    expect(init[0]!.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['CHOWN'] },
    });
  });
});

describe('statefulset', () => {
  type StatefulSet = Deployment & {
    spec: { replicas: number; serviceName: string; podManagementPolicy?: string };
  };
  type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };
  const objs = objectsOfVariant('statefulset').map((o) => o.obj);
  const set = only(objs, 'StatefulSet') as StatefulSet;
  const exporter = set.spec.template.spec.containers[0]! as Container & { env?: EnvVar[] };
  const monitor = only(objs, 'ServiceMonitor') as ServiceMonitor;

  it('sets the shard count equal to its replicas and the pod-index label as the shard index', () => {
    expect(set.spec.replicas).toBe(3);
    // In the environment, so `etcd-monitor check` or `bench` exec'd in a pod sees the same shard.
    expect(exporter.args!.some((a) => a.startsWith('--shard'))).toBe(false);
    // Kubernetes >= 1.28 labels each pod with its ordinal; older ones leave the variable empty and the
    // exporter reads the ordinal from $HOSTNAME (the pod name etcd-monitor-<i>) instead.
    expect(exporter.env).toEqual([
      { name: 'ETCD_MONITOR_SHARD_COUNT', value: String(set.spec.replicas) },
      {
        name: 'ETCD_MONITOR_SHARD_INDEX',
        valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } },
      },
    ]);
    // Pods are named <StatefulSet name>-<ordinal>: the hostname the exporter's default reads.
    expect(set.metadata.name).toBe('etcd-monitor');
    expect(set.spec.podManagementPolicy).toBe('Parallel');
  });

  it('names a headless Service that selects its pods and that the ServiceMonitor leaves alone', () => {
    const headless = only(objs, 'Service', set.spec.serviceName) as Service & {
      spec: { clusterIP?: string };
    };
    expect(headless.spec.clusterIP).toBe('None');
    expect(subset(headless.spec.selector, set.spec.template.metadata.labels)).toBe(true);
    // Each replica is scraped once, through the common Service: a second matching Service would double it.
    expect(subset(monitor.spec.selector.matchLabels, headless.metadata.labels)).toBe(false);
    const common = only(objs, 'Service', 'etcd-monitor') as Service;
    expect(subset(monitor.spec.selector.matchLabels, common.metadata.labels)).toBe(true);
    expect(subset(common.spec.selector, set.spec.template.metadata.labels)).toBe(true);
  });
});

describe('dashboards and rules', () => {
  const objs = objectsOfVariant('generic').map((o) => o.obj);

  it('one ConfigMap per dashboards/*.json, holding exactly the committed JSON, labelled for the sidecar', () => {
    const dashboards = objs.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.['grafana_dashboard']);
    const committed = [
      'etcd-benchmark',
      'etcd-cluster-overview',
      'etcd-member-detail',
      'etcd-monitor-self',
      'etcd-multi-cluster',
    ];
    expect(
      dashboards
        .map((d) => Object.keys(d['data'] as object))
        .flat()
        .sort(),
    ).toEqual(committed.map((c) => `${c}.json`));
    for (const d of dashboards) {
      expect(d.metadata.labels?.['grafana_dashboard']).toBe('1');
      const [[file, text]] = Object.entries(d['data'] as Record<string, string>) as [[string, string]];
      expect(text, file).toBe(readFileSync(path.join(ROOT, 'dashboards', file), 'utf8'));
      expect((JSON.parse(text) as { uid: string }).uid).toBe(path.basename(file, '.json'));
    }
  });

  it('the PrometheusRule is alert-rules/prometheusrule.yaml, with the release label added', () => {
    const shipped = yaml.load(
      readFileSync(path.join(ROOT, 'alert-rules/prometheusrule.yaml'), 'utf8'),
    ) as Obj;
    const [deployed] = documentsOf('common/prometheusrule.yaml');
    expect(deployed!['spec']).toEqual(shipped['spec']);
    const { release, ...labels } = deployed!.metadata.labels ?? {};
    expect(release).toBe('kube-prometheus-stack');
    expect({ ...deployed!.metadata, labels }).toEqual(shipped.metadata);
    expect((shipped['spec'] as { groups: unknown[] }).groups.length).toBeGreaterThanOrEqual(5);
  });
});
