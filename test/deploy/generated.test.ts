import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY_DIR, manifestFiles, renderManifest } from '../../scripts/kubernetes/index.js';
import { VARIANTS } from '../../scripts/kubernetes/variants.js';
import { objectsOfVariant } from './manifests.js';

// deploy/kubernetes/ is generated (scripts/kubernetes/, `npm run kubernetes`); pure: files in, text out.

const filesBelow = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesBelow(p) : [path.relative(DEPLOY_DIR, p)];
  });

describe('deploy/kubernetes', () => {
  it('is exactly the generator output (run `npm run kubernetes` after changing rules or dashboards)', async () => {
    const generated = manifestFiles();
    expect(generated.length).toBeGreaterThanOrEqual(12);
    for (const m of generated) {
      const committed = readFileSync(path.join(DEPLOY_DIR, m.file), 'utf8');
      expect(committed, m.file).toBe(await renderManifest(m));
    }
    // Nothing else but the hand-written README: a file the generator no longer writes is stale.
    expect(filesBelow(DEPLOY_DIR).sort()).toEqual([...generated.map((m) => m.file), 'README.md'].sort());
  });

  it.each(VARIANTS.map((v) => v.dir))(
    '`kubectl apply -k %s` gets every part once, all namespace-agnostic',
    (dir) => {
      const objs = objectsOfVariant(dir).map((o) => o.obj);
      const keys = objs.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(keys).size, keys.join(' ')).toBe(keys.length);
      const kinds = new Set(objs.map((o) => o.kind));
      for (const kind of ['ServiceAccount', 'ConfigMap', 'Service', 'ServiceMonitor', 'PrometheusRule'])
        expect(kinds, kind).toContain(kind);
      // One workload: the sharded variant's StatefulSet instead of the Deployment.
      expect([kinds.has('Deployment'), kinds.has('StatefulSet')]).toEqual([
        dir !== 'statefulset',
        dir === 'statefulset',
      ]);
      expect(kinds.has('NetworkPolicy')).toBe(dir !== 'kubeadm');
      // The namespace comes from `kubectl apply -n` (or an overlay's `namespace:`), never from the files.
      for (const o of objs) expect(o.metadata.namespace, keys.join(' ')).toBeUndefined();
      // The Secrets hold keys: the user creates them (README), the manifests never carry any.
      expect(kinds.has('Secret')).toBe(false);
    },
  );
});
