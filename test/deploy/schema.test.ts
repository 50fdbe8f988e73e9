import { describe, expect, it } from 'vitest';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as core from 'kubernetes-models/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { VARIANTS } from '../../scripts/kubernetes/variants.js';
import { objectsOfVariant, type Obj } from './manifests.js';

// Every object against the Kubernetes OpenAPI schema (kubernetes-models) and prometheus-operator's CRD
// schemas (@kubernetes-models/prometheus-operator). Field names are also checked at compile time: the
// generator builds each object as kubernetes-models' interface, which rejects unknown fields.

type Validating = new (data: never) => { validate(): void };
const MODELS: Record<string, Validating> = {
  'v1/ServiceAccount': core.ServiceAccount,
  'v1/ConfigMap': core.ConfigMap,
  'v1/Service': core.Service,
  'apps/v1/Deployment': apps.Deployment,
  'apps/v1/StatefulSet': apps.StatefulSet,
  'batch/v1/Job': batch.Job,
  'networking.k8s.io/v1/NetworkPolicy': networking.NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': monitoring.ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': monitoring.PrometheusRule,
};

function validate(obj: Obj): void {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj as never).validate();
}

describe('schemas', () => {
  it.each(VARIANTS.map((v) => v.dir))('every object of %s validates', (dir) => {
    const objs = objectsOfVariant(dir);
    expect(objs.length).toBeGreaterThanOrEqual(11);
    for (const { file, obj } of objs) {
      expect(() => validate(obj), `${file}: ${obj.kind} ${obj.metadata.name}`).not.toThrow();
    }
  });

  it('every object of bench-job validates (the Indexed Job)', () => {
    const objs = objectsOfVariant('bench-job');
    expect(objs.map((o) => o.obj.kind)).toEqual(['Job']);
    for (const { file, obj } of objs) {
      expect(() => validate(obj), `${file}: ${obj.kind} ${obj.metadata.name}`).not.toThrow();
    }
    const job = structuredClone(objs[0]!.obj) as Obj & { spec: { completionMode: unknown } };
    job.spec.completionMode = 7;
    expect(() => validate(job)).toThrow(/completionMode/);
  });

  it('rejects what the API server would (the validators are live, not permissive)', () => {
    const objs = objectsOfVariant('generic').map((o) => o.obj);
    const deployment = structuredClone(objs.find((o) => o.kind === 'Deployment')!) as Obj & {
      spec: {
        replicas: unknown;
        template: { spec: { containers: Array<{ ports: Array<{ containerPort: unknown }> }> } };
      };
    };
    deployment.spec.template.spec.containers[0]!.ports[0]!.containerPort = '8080';
    expect(() => validate(deployment)).toThrow(/containerPort/);
    const monitor = structuredClone(objs.find((o) => o.kind === 'ServiceMonitor')!) as Obj & {
      spec: { endpoints: Array<{ honorLabels: unknown }> };
    };
    monitor.spec.endpoints[0]!.honorLabels = 'true';
    expect(() => validate(monitor)).toThrow(/honorLabels/);
    const rule = structuredClone(objs.find((o) => o.kind === 'PrometheusRule')!) as Obj & {
      spec: { groups: Array<{ name: unknown }> };
    };
    delete rule.spec.groups[0]!.name;
    expect(() => validate(rule)).toThrow(/name/);
  });
});
