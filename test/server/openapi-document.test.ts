import { describe, expect, it } from 'vitest';
import { WORKLOADS } from '../../src/loadgen/load.js';
import { OPENAPI_DOCUMENT } from '../../src/server/openapi.js';

// The document is merged from each router's own part (src/**/*.openapi.ts); these check what the merge and the
// parts promise beyond the response validation in openapi.test.ts.

type Operation = {
  requestBody?: {
    content: { 'application/json': { schema: { properties: Record<string, { enum?: unknown }> } } };
  };
};
const doc = OPENAPI_DOCUMENT as unknown as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

describe('OpenAPI document', () => {
  it('names the workloads of the load generator (spelled out to keep the engine unloaded at start-up)', () => {
    const body = doc.paths['/api/v1/performance/benchmark']?.post?.requestBody;
    expect(body?.content['application/json'].schema.properties['type']?.enum).toEqual([...WORKLOADS]);
  });

  it('lists a sub-resource right after its parent, whichever router serves it', () => {
    const paths = Object.keys(doc.paths);
    expect(paths.indexOf('/api/v1/cluster/leader/history')).toBe(paths.indexOf('/api/v1/cluster/leader') + 1);
    expect(paths.indexOf('/api/v1/performance/benchmark/{id}')).toBe(
      paths.indexOf('/api/v1/performance/benchmark') + 1,
    );
  });

  it('defines every schema it refers to and refers to every schema it defines', () => {
    const text = JSON.stringify(doc);
    const referred = new Set([...text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]));
    expect([...referred].sort()).toEqual(Object.keys(doc.components.schemas).sort());
  });
});
