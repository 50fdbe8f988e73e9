import { OK_BAD, RATIO_USAGE, YES_NO } from './colours.js';
import { timeseries } from './panel-builders.js';
import { CHOSEN_MEMBERS } from './selectors.js';
import type { RowSpec } from './spec.js';

/** One stat per chosen member: up, healthy, role, version, raft term, uptime. */
export const statusRow: RowSpec = {
  title: 'Status',
  panels: [
    {
      kind: 'stat',
      title: 'Up',
      description: 'Whether the exporter reached the member in its latest collection.',
      w: 4,
      h: 4,
      textMode: 'value_and_name',
      targets: [{ expr: `etcd_monitor_member_up{${CHOSEN_MEMBERS}}`, legend: '{{member}}' }],
      mappings: YES_NO,
    },
    {
      kind: 'stat',
      title: 'Healthy',
      description: "Whether the member's health check passed (it has a leader and can serve a quorum read).",
      w: 4,
      h: 4,
      textMode: 'value_and_name',
      targets: [{ expr: `etcd_monitor_member_healthy{${CHOSEN_MEMBERS}}`, legend: '{{member}}' }],
      mappings: OK_BAD,
    },
    {
      kind: 'stat',
      title: 'Role',
      description: 'Leader, follower or learner, from each member status.',
      w: 4,
      h: 4,
      textMode: 'value_and_name',
      thresholds: [[null, 'text']],
      targets: [
        {
          expr: `etcd_monitor_member_is_leader{${CHOSEN_MEMBERS}} * 2 + etcd_monitor_member_is_learner{${CHOSEN_MEMBERS}}`,
          legend: '{{member}}',
        },
      ],
      mappings: [
        { value: 2, text: 'leader', color: 'blue' },
        { value: 0, text: 'follower', color: 'green' },
        { value: 1, text: 'learner', color: 'purple' },
      ],
    },
    {
      kind: 'stat',
      title: 'Version',
      description: 'etcd server version reported by the member.',
      w: 4,
      h: 4,
      textMode: 'name',
      thresholds: [[null, 'text']],
      targets: [
        {
          expr: `max by (member, version) (etcd_monitor_member_info{${CHOSEN_MEMBERS}})`,
          legend: '{{member}} {{version}}',
        },
      ],
    },
    {
      kind: 'stat',
      title: 'Raft term',
      description: 'Current raft term; it increases with every election.',
      w: 4,
      h: 4,
      textMode: 'value_and_name',
      unit: 'none',
      thresholds: [[null, 'text']],
      targets: [{ expr: `etcd_monitor_member_raft_term{${CHOSEN_MEMBERS}}`, legend: '{{member}}' }],
    },
    {
      kind: 'stat',
      title: 'Uptime',
      description: 'Time since the etcd process started (process_start_time_seconds).',
      w: 4,
      h: 4,
      textMode: 'value_and_name',
      unit: 's',
      thresholds: [[null, 'text']],
      targets: [{ expr: `time() - process_start_time_seconds{${CHOSEN_MEMBERS}}`, legend: '{{member}}' }],
    },
  ],
};

/** Utilisation and saturation of the etcd process: CPU, memory, file descriptors, disk and network. */
export const resourcesRow: RowSpec = {
  title: 'Resources (utilisation, saturation, errors)',
  panels: [
    timeseries('CPU', 'CPU cores used by the etcd process.', 'none', [
      { expr: `etcd_monitor_member_cpu_cores_used{${CHOSEN_MEMBERS}}`, legend: '{{member}}' },
    ]),
    timeseries(
      'Memory',
      'Resident memory of the etcd process; it normally runs at a multiple of the in-use database size.',
      'bytes',
      [
        {
          expr: `etcd_monitor_member_resident_memory_bytes{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} resident',
        },
        { expr: `process_virtual_memory_bytes{${CHOSEN_MEMBERS}}`, legend: '{{member}} virtual' },
      ],
    ),
    timeseries(
      'File descriptor usage',
      'Open file descriptors as a share of the limit; etcd can panic when it cannot open a new WAL file.',
      'percentunit',
      [
        {
          expr: `etcd_monitor_member_open_fds{${CHOSEN_MEMBERS}} / etcd_monitor_member_max_fds{${CHOSEN_MEMBERS}}`,
          legend: '{{member}}',
        },
      ],
      { thresholds: RATIO_USAGE, min: 0 },
    ),
    timeseries(
      'Open file descriptors',
      'Open file descriptors and the limit, as seen by the process collector and by etcd itself (os_fd_used, os_fd_limit).',
      'none',
      [
        { expr: `etcd_monitor_member_open_fds{${CHOSEN_MEMBERS}}`, legend: '{{member}} open' },
        { expr: `os_fd_used{${CHOSEN_MEMBERS}}`, legend: '{{member}} used (etcd)' },
        { expr: `etcd_monitor_member_max_fds{${CHOSEN_MEMBERS}}`, legend: '{{member}} limit' },
      ],
    ),
    timeseries(
      'Disk writes',
      'Bytes written to the WAL per second (etcd_disk_wal_write_bytes_total is a gauge, so deriv() rather than rate()).',
      'Bps',
      [
        {
          expr: `deriv(etcd_disk_wal_write_bytes_total{${CHOSEN_MEMBERS}}[$__rate_interval])`,
          legend: '{{member}}',
        },
      ],
    ),
    timeseries(
      'Network traffic',
      'Bytes per second to and from clients (gRPC) and peers (raft). Received is drawn below zero.',
      'Bps',
      [
        {
          expr: `etcd_monitor_member_client_sent_bytes_per_second{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} client out',
        },
        {
          expr: `-etcd_monitor_member_client_received_bytes_per_second{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} client in',
        },
        {
          expr: `etcd_monitor_member_peer_sent_bytes_per_second{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} peer out',
        },
        {
          expr: `-etcd_monitor_member_peer_received_bytes_per_second{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} peer in',
        },
      ],
    ),
  ],
};
