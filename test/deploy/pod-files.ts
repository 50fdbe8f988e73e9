// A pod's files, rebuilt in a temporary directory from the manifests alone. Each volume is a directory
// `<root>/volumes/<name>`, filled as the kubelet fills it (ConfigMap and Secret items; an absent optional
// Secret leaves it empty) and shared by every container that mounts it; a container sees a pod path below
// one of its mounts at the same place below that volume's directory. So the exporter's own config loader
// opens exactly the files the manifests promise, and fails on any they do not.
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
  /** Where a container's pod path is in the rebuilt filesystem (paths outside its mounts are kept). */
  readonly local: (container: Container, podPath: string) => string;
  /** The exporter container. */
  readonly exporter: Container;
  /** The volume a mount of `container` covering `podPath` refers to, if any. */
  readonly volumeAt: (container: Container, podPath: string) => Volume | undefined;
}

export interface MaterializeOptions {
  /** Secrets that exist, each key's content (a missing non-optional Secret throws, as the pod would not start). */
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Files on the node, by host path, for hostPath volumes. */
  readonly hostFiles?: Readonly<Record<string, string>>;
  /**
   * May change a ConfigMap file's text, e.g. an overlay's edit, or the exporter's pod paths in config.yaml
   * (`local` maps them into the rebuilt filesystem).
   */
  readonly edit?: (key: string, text: string, local: (podPath: string) => string) => string;
}

const write = (file: string, text: string) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
};

/** Fills every volume of `pod` below `root`; init containers are not run (see simulateInit, runInit). */
export function materialize(root: string, objs: Obj[], pod: PodSpec, opts: MaterializeOptions): PodFiles {
  const exporter = pod.containers.find((c) => c.name === 'exporter');
  if (!exporter) throw new Error('no exporter container');
  const volume = (name: string): Volume => {
    const v = pod.volumes.find((x) => x.name === name);
    if (!v) throw new Error(`no volume ${name}`);
    return v;
  };
  const mountAt = (c: Container, p: string) =>
    (c.volumeMounts ?? []).find((m) => p === m.mountPath || p.startsWith(`${m.mountPath}/`));
  const local = (c: Container, p: string): string => {
    const m = mountAt(c, p);
    return m ? path.join(root, 'volumes', m.name, path.relative(m.mountPath, p)) : p;
  };
  const volumeAt = (c: Container, p: string) => {
    const m = mountAt(c, p);
    return m ? volume(m.name) : undefined;
  };
  for (const v of pod.volumes) {
    const dir = path.join(root, 'volumes', v.name);
    mkdirSync(dir, { recursive: true });
    if (v.configMap) {
      const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap!.name);
      if (!cm) throw new Error(`volume ${v.name}: no ConfigMap ${v.configMap.name}`);
      const data = cm['data'] as Record<string, string>;
      for (const item of v.configMap.items) {
        if (data[item.key] === undefined) throw new Error(`ConfigMap ${v.configMap.name} has no ${item.key}`);
        const text = data[item.key]!;
        write(
          path.join(dir, item.path),
          opts.edit ? opts.edit(item.key, text, (p) => local(exporter, p)) : text,
        );
      }
    } else if (v.secret) {
      const data = opts.secrets[v.secret.secretName];
      if (!data) {
        if (!v.secret.optional) throw new Error(`Secret ${v.secret.secretName} is required`);
        continue;
      }
      for (const item of v.secret.items) {
        if (data[item.key] === undefined) throw new Error(`Secret ${v.secret.secretName} has no ${item.key}`);
        write(path.join(dir, item.path), data[item.key]!);
      }
    } else if (v.hostPath) {
      for (const [hostFile, text] of Object.entries(opts.hostFiles ?? {})) {
        if (hostFile.startsWith(`${v.hostPath.path}/`))
          write(path.join(dir, path.relative(v.hostPath.path, hostFile)), text);
      }
    }
  }
  return { local, exporter, volumeAt };
}

/** `install -m MODE -o UID -g GID SOURCE… DIR/` split into its options, sources and target directory. */
export function parseInstall(command: readonly string[]): {
  options: Record<string, string>;
  sources: string[];
  dir: string;
} {
  const [bin, ...rest] = command;
  if (bin !== 'install') throw new Error(`unexpected command ${bin}`);
  const options: Record<string, string> = {};
  const operands: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (['-m', '-o', '-g'].includes(rest[i]!)) options[rest[i]!] = rest[++i]!;
    else operands.push(rest[i]!);
  }
  if (operands.length < 2 || !operands.at(-1)!.endsWith('/')) throw new Error(`install needs SOURCE… DIR/`);
  return { options, sources: operands.slice(0, -1), dir: operands.at(-1)!.replace(/\/$/, '') };
}

/**
 * Checks what an init container's `install` copies: from a hostPath volume into an emptyDir the exporter
 * also mounts; and, unless `run` does the copying for real, copies the files itself.
 */
export function copyByInit(
  files: PodFiles,
  pod: PodSpec,
  run?: (init: Container, command: string[]) => void,
): void {
  for (const init of pod.initContainers ?? []) {
    const { sources, dir } = parseInstall(init.command ?? []);
    const dest = files.volumeAt(init, dir);
    if (!dest?.emptyDir) throw new Error(`${init.name}: ${dir} is not an emptyDir`);
    if (!files.exporter.volumeMounts?.some((m) => m.name === dest.name))
      throw new Error(`${init.name}: the exporter does not mount ${dest.name}`);
    for (const s of sources) {
      if (!files.volumeAt(init, s)?.hostPath)
        throw new Error(`${init.name}: ${s} is not on a hostPath mount`);
    }
    const local = (p: string) => files.local(init, p);
    if (run) {
      const [bin, ...rest] = init.command!;
      run(init, [
        bin!,
        ...rest.map((a) => (a.startsWith('/') ? local(a) + (a.endsWith('/') ? '/' : '') : a)),
      ]);
    } else {
      for (const s of sources) write(path.join(local(dir), path.basename(s)), `copied from ${s}\n`);
    }
  }
}
