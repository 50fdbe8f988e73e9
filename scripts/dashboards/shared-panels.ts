import { ONE_CLUSTER } from './selectors.js';
import type { PanelSpec } from './spec.js';

/**
 * Data age, on the cluster overview and on the exporter's own dashboard: seconds since the exporter last
 * completed a collection of the chosen cluster. last_over_time over a day keeps the last timestamp while
 * the exporter is down (a failed scrape marks the gauge stale at once), so the age keeps growing instead of
 * the panel going blank. Yellow after 60 s and red after 180 s: two and six health rounds at the default
 * --health-check-interval of 30 s. The two dashboards word the description for their reader.
 */
export const dataAge = (description: string, h: number): PanelSpec => ({
  kind: 'stat',
  title: 'Data age',
  description,
  w: 4,
  h,
  unit: 's',
  decimals: 0,
  targets: [
    {
      expr: `time() - last_over_time(etcd_monitor_last_collection_timestamp_seconds{${ONE_CLUSTER}}[1d])`,
    },
  ],
  thresholds: [
    [null, 'green'],
    [60, 'yellow'],
    [180, 'red'],
  ],
});
