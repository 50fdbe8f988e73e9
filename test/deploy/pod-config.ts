// The exporter container of a variant, made runnable here: its files rebuilt (pod-files.ts), its pod paths
// in args and config.yaml pointed into them, its flags parsed by the exporter's own `serve` options.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { ROOT } from '../../scripts/kubernetes/names.js';
import { givenFlags, withConfigFlags } from '../../src/config/flags.js';
import { objectsOfVariant, workloadOf, type Obj } from './manifests.js';
import { materialize, type MaterializeOptions, type PodFiles, type PodSpec } from './pod-files.js';

/** The image's ETCD_MONITOR_* environment (Dockerfile ENV), which the container inherits. */
export const IMAGE_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  [...readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').matchAll(/(ETCD_MONITOR_[A-Z_]+)=(\S+)/g)].map(
    (m) => [m[1]!, m[2]!],
  ),
);

/** Replaces every absolute path in `text` (after whitespace or `=`) by `local(path)`. */
export const localize = (text: string, local: (p: string) => string): string =>
  text.replace(/(?<=^|\s|=)\/[^\s]+/g, (p) => local(p));

export interface PreparedPod {
  readonly root: string;
  readonly objs: Obj[];
  readonly pod: PodSpec;
  readonly files: PodFiles;
  /** The exporter's `serve` arguments (after the subcommand), pod paths pointed into `root`. */
  readonly args: string[];
  /** The container's environment: the image's plus its own `env`. */
  readonly env: Record<string, string>;
  /** A pod path of the exporter container in the rebuilt filesystem. */
  readonly local: (podPath: string) => string;
}

/** Rebuilds variant `dir`'s exporter pod in a new temporary directory (the caller removes `root`). */
export function preparePod(
  dir: string,
  opts: Omit<MaterializeOptions, 'edit'> & { edit?: (key: string, text: string) => string },
): PreparedPod {
  const objs = objectsOfVariant(dir).map((o) => o.obj);
  const pod = (workloadOf(objs) as Obj & { spec: { template: { spec: PodSpec } } }).spec.template.spec;
  const root = mkdtempSync(path.join(os.tmpdir(), 'deploy-pod-'));
  const files = materialize(root, objs, pod, {
    ...opts,
    edit: (key, text, local) => localize(opts.edit ? opts.edit(key, text) : text, local),
  });
  const local = (p: string) => files.local(files.exporter, p);
  const [sub, ...rest] = files.exporter.args ?? [];
  if (sub !== 'serve') throw new Error(`the exporter runs ${sub}, not serve`);
  const env = {
    ...IMAGE_ENV,
    ...Object.fromEntries((files.exporter.env ?? []).map((e) => [e.name, e.value ?? ''])),
  };
  return { root, objs, pod, files, args: rest.map((a) => localize(a, local)), env, local };
}

/** Flags as `etcd-monitor serve` parses them (src/cli.ts: strict, no dot-notation); throws on an unknown one. */
export function serveFlags(args: readonly string[]): Promise<Record<string, unknown>> {
  return parseFlags(withConfigFlags, args);
}

type Argv = ReturnType<typeof yargs>;

/** Flags given in `args` as the command whose options `build` declares parses them, the way src/cli.ts does. */
export async function parseFlags(
  build: (y: Argv) => Argv,
  args: readonly string[],
): Promise<Record<string, unknown>> {
  const argv = await build(yargs([...args]))
    .parserConfiguration({ 'dot-notation': false })
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  return givenFlags(argv as Record<string, unknown>);
}
