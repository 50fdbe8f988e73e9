// A pod's view of its files, rebuilt in a temporary directory from the manifests alone: what each
// ConfigMap, Secret and emptyDir volume puts at the exporter's mount points, and what the kubeadm
// variant's init container copies there. Absolute paths of the pod become `<root><path>`, so the exporter's
// own config loader can open exactly the files the manifests promise — and fails on any they do not.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Obj } from './manifests.js';

interface Mount {
  name: string;
  mountPath: string;
}
export interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name?: string; containerPort: number; hostPort?: number }>;
  volumeMounts?: Mount[];
}
interface Volume {
  name: string;
  configMap?: { name: string; items: Array<{ key: string; path: string }> };
  secret?: { secretName: string; optional?: boolean; items: Array<{ key: string; path: string }> };
  emptyDir?: object;
  hostPath?: { path: string };
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes: Volume[];
}

export interface PodFiles {
  /** Maps a path inside the pod to the temporary directory (paths outside every mount are kept). */
  readonly local: (podPath: string) => string;
  /** The exporter container's mount points. */
  readonly mounts: readonly string[];
}

/**
 * Writes the exporter container's files below `root`. `secrets` names the Secrets that exist (a missing
 * optional Secret leaves its mount empty, as the kubelet does); `edit` may change a ConfigMap file's text.
 */
export function materialize(
  root: string,
  objs: Obj[],
  pod: PodSpec,
  secrets: ReadonlySet<string>,
  edit: (key: string, text: string) => string = (_k, t) => t,
): PodFiles {
  const exporter = pod.containers.find((c) => c.name === 'exporter');
  if (!exporter) throw new Error('no exporter container');
  const mounts = (exporter.volumeMounts ?? []).map((m) => m.mountPath);
  const local = (podPath: string): string =>
    mounts.some((m) => podPath === m || podPath.startsWith(`${m}/`)) ? path.join(root, podPath) : podPath;
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  const volume = (name: string): Volume => {
    const v = pod.volumes.find((x) => x.name === name);
    if (!v) throw new Error(`no volume ${name}`);
    return v;
  };
  for (const m of exporter.volumeMounts ?? []) {
    const v = volume(m.name);
    const dir = path.join(root, m.mountPath);
    mkdirSync(dir, { recursive: true });
    if (v.configMap) {
      const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap!.name);
      if (!cm) throw new Error(`volume ${m.name}: no ConfigMap ${v.configMap.name}`);
      const data = cm['data'] as Record<string, string>;
      for (const item of v.configMap.items) {
        if (data[item.key] === undefined) throw new Error(`ConfigMap ${v.configMap.name} has no ${item.key}`);
        write(path.join(dir, item.path), edit(item.key, data[item.key]!));
      }
    } else if (v.secret) {
      if (!secrets.has(v.secret.secretName)) {
        if (!v.secret.optional) throw new Error(`Secret ${v.secret.secretName} is required`);
        continue;
      }
      for (const item of v.secret.items)
        write(path.join(dir, item.path), `${v.secret.secretName}/${item.key}\n`);
    }
  }
  // kubeadm: `install -m MODE -o UID -g GID SOURCE… DIR/` from a hostPath into a volume the exporter mounts.
  for (const init of pod.initContainers ?? []) {
    const [bin, ...rest] = init.command ?? [];
    if (bin !== 'install') throw new Error(`init container ${init.name}: unexpected command ${bin}`);
    const operands: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      if (['-m', '-o', '-g'].includes(rest[i]!)) i++;
      else operands.push(rest[i]!);
    }
    const files = operands.slice(0, -1);
    const dest = operands.at(-1)!.replace(/\/$/, '');
    const mountOf = (p: string) =>
      (init.volumeMounts ?? []).find((m) => p === m.mountPath || p.startsWith(`${m.mountPath}/`));
    const destMount = mountOf(dest);
    const exporterMount = exporter.volumeMounts?.find((m) => m.name === destMount?.name);
    if (!destMount || !volume(destMount.name).emptyDir || !exporterMount)
      throw new Error(`${init.name}: ${dest} is not an emptyDir the exporter mounts`);
    for (const f of files) {
      const from = mountOf(f);
      if (!from || !volume(from.name).hostPath)
        throw new Error(`${init.name}: ${f} is not on a hostPath mount`);
      write(
        path.join(root, exporterMount.mountPath, path.relative(destMount.mountPath, dest), path.basename(f)),
        `host:${f}\n`,
      );
    }
  }
  return { local, mounts };
}
