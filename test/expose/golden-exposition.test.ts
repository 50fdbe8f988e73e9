// Golden exposition: a fixed snapshot of the real etcd captures (3.4, and 3.5 in its own file), derived twice (15 s apart, so rate
// series exist) and rendered as /metrics would serve it — the derived registry, then members' re-exposed
// series with the default allow list. Any change to a metric's name, HELP, TYPE, labels or value shows
// here, not only where some other test happens to look. After an intended change, regenerate with
//   UPDATE_GOLDEN=1 npx vitest run test/expose/golden-exposition.test.ts
// and review the diff of test/expose/golden/exposition*.prom like code.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { deriveCluster, INITIAL_DERIVE_STATE } from '../../src/derive/derive-cluster.js';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import { createExporterMetrics } from '../../src/expose/registry.js';
import { renderReexposed } from '../../src/expose/reexpose.js';
import { parseEndpoint } from '../../src/util/endpoint.js';
import {
  capturedClusterSnapshot,
  DEFAULT_THRESHOLDS,
  ETCD_FIXTURE_VERSIONS,
  type EtcdFixtureVersion,
} from '../etcd/fixtures.js';

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
/** The 3.4 file keeps its first name: it is the one the architecture refactor was checked against. */
const goldenFile = (version: EtcdFixtureVersion) =>
  path.join(GOLDEN_DIR, version === '3.4' ? 'exposition.prom' : `exposition-${version}.prom`);
const AT = 1_795_441_262_015;

async function render(version: EtcdFixtureVersion): Promise<string> {
  const snapshot = (at: number) => capturedClusterSnapshot('prod', at, version);
  const first = deriveCluster(INITIAL_DERIVE_STATE, snapshot(AT), DEFAULT_THRESHOLDS);
  const s = snapshot(AT + 15_000);
  const { view } = deriveCluster(first.state, s, DEFAULT_THRESHOLDS);
  const metrics = createExporterMetrics(
    () => [{ view, snapshot: s }],
    { warn: () => undefined },
    '0.0.0-golden',
    {
      prod: { region: 'eu-west-1' },
    },
  );
  metrics.probeDuration.observe({ cluster: 'prod', member: 'fixtures-1', operation: 'write' }, 0.004);
  metrics.probeSuccess.set({ cluster: 'prod', member: 'fixtures-1', operation: 'write' }, 1);
  const allow = resolveConfig({}).reexpose.allow;
  const nameOf = (endpoint: string) => view.members.find((m) => m.endpoint === endpoint)?.member ?? endpoint;
  const sources = s.members.flatMap((m) =>
    m.metrics?.ok
      ? [
          {
            cluster: 'prod',
            member: nameOf(m.endpoint),
            instance: parseEndpoint(m.endpoint).authority,
            metrics: m.metrics.value,
          },
        ]
      : [],
  );
  // The runtime registry (CPU, memory, GC) is left out: it is the one part not fixed by the inputs.
  const own = await metrics.registry.metrics();
  const page = own + renderReexposed(sources, allow, new Set(ALL_METRICS.map((d) => d.name)));
  // The Node.js version is the only input that is not fixed here.
  return page.replaceAll(`nodejs_version="${process.version}"`, 'nodejs_version="vX"');
}

describe.each(ETCD_FIXTURE_VERSIONS)('golden exposition, etcd %s captures', (version) => {
  it('renders the fixed snapshot exactly as the committed file', async () => {
    const GOLDEN = goldenFile(version);
    const page = await render(version);
    if (process.env['UPDATE_GOLDEN'] === '1') {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(GOLDEN, page);
    }
    // A missing file fails (it is never made silently): UPDATE_GOLDEN=1 writes it, to be reviewed and committed.
    expect(existsSync(GOLDEN), `${GOLDEN} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(page.length).toBeGreaterThan(10_000);
    expect(page).toBe(readFileSync(GOLDEN, 'utf8'));
  });
});
