import { OK_BAD } from './colours.js';
import { timeseries } from './panel-builders.js';
import { CHOSEN_MEMBERS, ONE_CLUSTER } from './selectors.js';
import { dataAge } from './shared-panels.js';
import type { DashboardSpec } from './spec.js';
import { UID } from './uids.js';
import { clusterVar, memberVar } from './variables.js';

// The exporter's process series carry no cluster label (one exporter may watch several clusters); keep
// only the exporter targets that reported the chosen cluster within the last day, so this dashboard
// honours $cluster and still shows `up` = 0 while the exporter is down.
const ofThisExporter = `and on (job, instance) last_over_time(etcd_monitor_cluster_info{${ONE_CLUSTER}}[1d])`;

/** Is the exporter itself healthy: collector success and duration per member, freshness, and its own process. */
export const monitorSelf: DashboardSpec = {
  uid: UID.self,
  title: 'etcd / etcd-monitor exporter',
  summary: 'The exporter itself: collector success and duration per member, scrape, process',
  description:
    "The exporter's own health: success and duration of each collector (metrics, status, members, alarms, health, probe) against each member, data freshness, Prometheus' scrape of the exporter, and the exporter process.",
  tags: ['exporter'],
  variables: [clusterVar, memberVar],
  rows: [
    {
      title: 'Collectors',
      panels: [
        {
          kind: 'stat',
          title: 'Failing collectors',
          description: 'Collector runs against the chosen members whose last attempt failed.',
          w: 4,
          h: 8,
          targets: [{ expr: `count(etcd_monitor_collector_success{${CHOSEN_MEMBERS}} == 0) or vector(0)` }],
          thresholds: [
            [null, 'green'],
            [1, 'red'],
          ],
        },
        {
          kind: 'table',
          title: 'Last collection per member',
          description:
            'Result of the last run of each collector against each member: metrics (/metrics), status (Maintenance.Status), members (MemberList), alarms, health (/health) and the read/write probe; with the error code that failed it most often in the last 5 minutes (CONNECTION_REFUSED, CONNECT_TIMEOUT, REQUEST_TIMEOUT, TLS_CERT_EXPIRED, TLS_BAD_CERTIFICATE, UNAUTHENTICATED, ...; the README lists them).',
          w: 12,
          h: 8,
          targets: [
            {
              name: 'success',
              expr: `max by (member, collector) (etcd_monitor_collector_success{${CHOSEN_MEMBERS}})`,
              table: true,
            },
            {
              name: 'duration',
              expr: `max by (member, collector) (etcd_monitor_collector_duration_seconds{${CHOSEN_MEMBERS}})`,
              table: true,
            },
            {
              name: 'errors',
              expr: `topk by (member, collector) (1, increase(etcd_monitor_collector_errors_total{${CHOSEN_MEMBERS}}[5m]) > 0)`,
              table: true,
              emptyWhenHealthy: 'an error code appears only while a collector fails',
            },
          ],
          columns: [
            // The count of the most frequent error is not shown; its code label is.
            { value: 'errors', hidden: true },
            { label: 'member', header: 'Member' },
            { label: 'collector', header: 'Collector' },
            { label: 'code', header: 'Error (5m)' },
            { value: 'success', header: 'Result', mappings: OK_BAD },
            { value: 'duration', header: 'Duration', unit: 's' },
          ],
        },
        dataAge(
          'Seconds since the newest collection result of this cluster arrived; keeps growing while the exporter is stuck or down.',
          8,
        ),
        {
          kind: 'stat',
          title: 'Exporter version',
          description: 'etcd-monitor version and Node.js runtime of the exporters reporting this cluster.',
          w: 4,
          h: 8,
          textMode: 'name',
          thresholds: [[null, 'text']],
          targets: [
            {
              expr: `max by (version, nodejs_version) (etcd_monitor_build_info ${ofThisExporter})`,
              legend: '{{version}} (Node.js {{nodejs_version}})',
            },
          ],
        },
        timeseries(
          'Collector success ratio',
          'Share of collector runs that succeeded over the interval, per member and collector.',
          'percentunit',
          [
            {
              expr: `avg_over_time(etcd_monitor_collector_success{${CHOSEN_MEMBERS}}[$__rate_interval])`,
              legend: '{{member}} {{collector}}',
            },
          ],
        ),
        timeseries(
          'Collector duration',
          'Wall time of the last run of each collector per member; slow members show up here before they time out (--request-timeout).',
          's',
          [
            {
              expr: `etcd_monitor_collector_duration_seconds{${CHOSEN_MEMBERS}}`,
              legend: '{{member}} {{collector}}',
            },
          ],
        ),
        timeseries(
          'Slowest collector',
          'Longest collector run per collector type over the chosen members.',
          's',
          [
            {
              expr: `max by (collector) (etcd_monitor_collector_duration_seconds{${CHOSEN_MEMBERS}})`,
              legend: '{{collector}}',
            },
          ],
        ),
        timeseries(
          'Collector errors by code',
          'Failed collector runs per second by member and error code: why the exporter cannot read a member (connection refused, timeouts, TLS certificate problems, authentication, bad answers).',
          'ops',
          [
            {
              expr: `sum by (member, code) (rate(etcd_monitor_collector_errors_total{${CHOSEN_MEMBERS}}[$__rate_interval]))`,
              legend: '{{member}} {{code}}',
              emptyWhenHealthy: 'the counter exists only once a collector has failed',
            },
          ],
        ),
      ],
    },
    {
      title: "Prometheus' scrape of the exporter",
      panels: [
        timeseries(
          'Scrape up',
          'Whether Prometheus could scrape the exporter (the up series of the exporter targets).',
          'none',
          [{ expr: `up ${ofThisExporter}`, legend: '{{instance}}' }],
        ),
        timeseries(
          'Scrape duration',
          'How long Prometheus took to scrape the exporter; grows with the re-exposed member series.',
          's',
          [{ expr: `scrape_duration_seconds ${ofThisExporter}`, legend: '{{instance}}' }],
        ),
        timeseries('Samples per scrape', 'Samples the exporter returned per scrape.', 'none', [
          { expr: `scrape_samples_scraped ${ofThisExporter}`, legend: '{{instance}}' },
        ]),
        timeseries(
          'Members over --reexpose-max-series',
          "1 while a member has more own series than --reexpose-max-series: they are left out of the exporter's /metrics (its etcd_monitor_* series stay).",
          'none',
          [
            {
              expr: `max by (member) (etcd_monitor_reexpose_dropped{${CHOSEN_MEMBERS}})`,
              legend: '{{member}}',
            },
          ],
        ),
        timeseries(
          'HTTP connections',
          "Open connections to the exporter's HTTP server (at most --web.max-connections) and connections it closed per second: evicted_idle (the oldest idle one, to admit a new one over the cap), over_limit (a new one while all had a request in flight), no_request (no request within 10 s).",
          'none',
          [
            { expr: `etcd_monitor_http_connections_open ${ofThisExporter}`, legend: '{{instance}} open' },
            {
              expr: `sum by (instance, reason) (rate(etcd_monitor_http_connections_dropped_total[$__rate_interval]) ${ofThisExporter})`,
              legend: '{{instance}} closed {{reason}}/s',
            },
          ],
        ),
      ],
    },
    {
      title: 'Exporter process',
      panels: [
        timeseries('CPU', 'CPU cores used by the exporter process.', 'none', [
          {
            expr: `rate(etcd_monitor_process_cpu_seconds_total[$__rate_interval]) ${ofThisExporter}`,
            legend: '{{instance}}',
          },
        ]),
        timeseries('Memory', 'Resident memory and V8 heap in use of the exporter process.', 'bytes', [
          {
            expr: `etcd_monitor_process_resident_memory_bytes ${ofThisExporter}`,
            legend: '{{instance}} resident',
          },
          {
            expr: `etcd_monitor_nodejs_heap_size_used_bytes ${ofThisExporter}`,
            legend: '{{instance}} heap used',
          },
        ]),
        timeseries(
          'Event loop lag',
          'p99 event loop delay of the exporter; high values delay collections and scrapes.',
          's',
          [
            {
              expr: `etcd_monitor_nodejs_eventloop_lag_p99_seconds ${ofThisExporter}`,
              legend: '{{instance}}',
            },
          ],
        ),
      ],
    },
  ],
};
