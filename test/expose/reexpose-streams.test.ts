// The gRPC series of the Watch and LeaseKeepAlive streams are re-exposed before their first use (the
// upstream mixin's "Active streams" panel needs them), while other never-called methods stay dropped.
import { describe, expect, it } from 'vitest';
import { FIELDS } from '../../src/config/fields.js';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import { renderReexposed } from '../../src/expose/reexpose.js';
import { parsePromText } from '../../src/protocol/prom-text/index.js';
import { MetricsText } from '../../src/protocol/prom-text/metrics-text.js';
import type { ParsedMetrics, Sample } from '../../src/protocol/prom-text/types.js';
import { ETCD_FIXTURE_VERSIONS, fixtureMetrics } from '../etcd/fixtures.js';
import { promtoolCheckMetrics } from './promtool.js';

const ALLOW = FIELDS.reexposeAllow.defaultValue.map((p) => new RegExp(p));
const OWN = new Set(ALL_METRICS.map((d) => d.name));
const GRPC = [
  'grpc_server_started_total',
  'grpc_server_handled_total',
  'grpc_server_msg_received_total',
  'grpc_server_msg_sent_total',
];
const STREAMS = [
  { service: 'etcdserverpb.Watch', method: 'Watch' },
  { service: 'etcdserverpb.Lease', method: 'LeaseKeepAlive' },
];
const of = (service: string, method: string) => (s: Sample) =>
  s.labels['grpc_service'] === service && s.labels['grpc_method'] === method;

/** The samples of one method in every gRPC family, labels as Prometheus would store them. */
const methodSamples = (metrics: ParsedMetrics, service: string, method: string) =>
  GRPC.flatMap((name) => (metrics.get(name)?.samples ?? []).filter(of(service, method)));

// Every case where a capture holds a stream never opened (started_total 0): the real inputs.
const CASES = ETCD_FIXTURE_VERSIONS.flatMap((version) =>
  ['leader-metrics.txt', 'follower-metrics.txt'].flatMap((file) =>
    STREAMS.filter(({ service, method }) =>
      (fixtureMetrics(file, version).get('grpc_server_started_total')?.samples ?? []).some(
        (s) => of(service, method)(s) && s.value === 0,
      ),
    ).map(({ service, method }) => ({ version, file, service, method })),
  ),
);

describe('gRPC stream series before first use', () => {
  it('the captures hold never-opened streams to test on (both versions)', () => {
    expect(new Set(CASES.map((c) => c.version))).toEqual(new Set(ETCD_FIXTURE_VERSIONS));
    expect(new Set(CASES.map((c) => c.method))).toEqual(new Set(['Watch', 'LeaseKeepAlive']));
  });

  it.each(CASES)('etcd $version $file: $service/$method kept with zero counts', (c) => {
    const metrics = fixtureMetrics(c.file, c.version);
    const out = parsePromText(
      renderReexposed([{ cluster: 'c', member: 'm', instance: 'h:2379', metrics }], ALLOW, OWN),
    );
    const kept = methodSamples(out, c.service, c.method);
    const original = methodSamples(metrics, c.service, c.method);
    // started, handled for each of the 17 codes, msg received, msg sent: 20 lines per method.
    expect(original).toHaveLength(20);
    expect(kept).toEqual(
      original.map((s) => ({ ...s, labels: { cluster: 'c', member: 'm', instance: 'h:2379', ...s.labels } })),
    );
    expect(kept.every((s) => s.value === 0)).toBe(true);
    // The gRPC health service's Watch (a different service, never used by etcd clients) is not kept.
    expect(methodSamples(out, 'grpc.health.v1.Health', 'Watch')).toEqual([]);
  });

  it.each([
    ['lines copied as text', (t: string): ParsedMetrics => new MetricsText(t)],
    ['parsed samples', (t: string): ParsedMetrics => new Map(parsePromText(t))],
  ])(
    'hand-made member (%s): streams at 0 kept, an unused unary method dropped, none invented',
    (_, parse) => {
      const line = (service: string, method: string, type: string, value: number) =>
        `grpc_server_started_total{grpc_method="${method}",grpc_service="${service}",grpc_type="${type}"} ${value}`;
      const text = [
        '# TYPE grpc_server_started_total counter',
        line('etcdserverpb.Watch', 'Watch', 'bidi_stream', 0),
        line('etcdserverpb.KV', 'Compact', 'unary', 0),
        line('etcdserverpb.KV', 'Range', 'unary', 3),
        '',
      ].join('\n');
      const out = renderReexposed(
        [{ cluster: 'c', member: 'm', instance: 'h:2379', metrics: parse(text) }],
        ALLOW,
        OWN,
      );
      const methods = parsePromText(out)
        .get('grpc_server_started_total')
        ?.samples.map((s) => `${s.labels['grpc_method']}=${s.value}`);
      // LeaseKeepAlive is not in this member's exposition, so nothing is made up for it.
      expect(methods).toEqual(['Watch=0', 'Range=3']);
      expect(promtoolCheckMetrics(out)).toEqual({ status: 0, output: '' });
    },
  );
});
