// Reads deploy/kubernetes/ as kubectl would: a variant is what `kubectl apply -k deploy/kubernetes/<dir>`
// sends, found by following each kustomization.yaml's `resources` (files and folders) from the variant.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { DEPLOY_DIR } from '../../scripts/kubernetes/index.js';

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Every YAML document of a file below deploy/kubernetes/. */
export function documentsOf(rel: string): Obj[] {
  return yaml.loadAll(readFileSync(path.join(DEPLOY_DIR, rel), 'utf8')) as Obj[];
}

interface Kustomization {
  apiVersion: string;
  kind: string;
  resources: string[];
}

/** The objects `kubectl apply -k deploy/kubernetes/<dir>` applies, each with the file it came from. */
export function objectsOfVariant(dir: string): Array<{ file: string; obj: Obj }> {
  const out: Array<{ file: string; obj: Obj }> = [];
  const visit = (folder: string) => {
    const kfile = path.join(folder, 'kustomization.yaml');
    if (!existsSync(kfile)) throw new Error(`${path.relative(DEPLOY_DIR, folder)} has no kustomization.yaml`);
    const k = yaml.load(readFileSync(kfile, 'utf8')) as Kustomization;
    if (k.kind !== 'Kustomization') throw new Error(`${kfile}: kind ${k.kind}`);
    for (const res of k.resources) {
      const target = path.resolve(folder, res);
      if (!existsSync(target)) throw new Error(`${path.relative(DEPLOY_DIR, kfile)}: ${res} does not exist`);
      if (statSync(target).isDirectory()) visit(target);
      else {
        // kustomize refuses files outside the kustomization's folder (its load restrictor).
        if (path.dirname(target) !== folder) throw new Error(`${kfile}: ${res} is outside its folder`);
        const rel = path.relative(DEPLOY_DIR, target);
        for (const obj of documentsOf(rel)) out.push({ file: rel, obj });
      }
    }
  };
  visit(path.join(DEPLOY_DIR, dir));
  return out;
}

/** The one object of a kind (and name, if given) in a list; throws when there is not exactly one. */
export function only(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** The exporter's workload of a variant: its Deployment, or its StatefulSet when sharded. */
export function workloadOf(objs: Obj[]): Obj {
  const found = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  if (found.length !== 1) throw new Error(`expected one Deployment or StatefulSet, found ${found.length}`);
  return found[0]!;
}
