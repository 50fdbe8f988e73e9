import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Alertmanager 0.25 webhook notifications for load: shaped like the captured ones, any number of alerts. */

/** Resident set size of a process in bytes (VmRSS in /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/**
 * One notification of `count` distinct firing alerts (batch `batch` of a run, so batches never share an
 * alert), each as Alertmanager sends it: labels, annotations with runbook, generatorURL and fingerprint.
 * About 480 bytes an alert: 10,000 make a ≈4.8 MB body, under the webhook's 5 MiB limit.
 */
export function loadNotification(
  batch: number,
  count: number,
  status: 'firing' | 'resolved' = 'firing',
): string {
  const alerts = [];
  for (let i = 0; i < count; i++) {
    const n = batch * count + i;
    const alertname = `EtcdLoadTest${n % 40}`;
    const member = `m${n}`;
    alerts.push({
      status,
      labels: { alertname, cluster: 'load', member, severity: 'warning' },
      annotations: {
        summary: `${alertname} on ${member}.`,
        description: `Synthetic alert ${n} of a load test.`,
        runbook_url: `https://example.invalid/runbooks.md#${alertname.toLowerCase()}`,
      },
      startsAt: '2026-12-01T00:00:00.000Z',
      endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-12-01T01:00:00.000Z',
      generatorURL: `http://prometheus:9090/graph?g0.expr=up%7Bmember%3D%22${member}%22%7D`,
      fingerprint: n.toString(16).padStart(16, '0'),
    });
  }
  return JSON.stringify({
    receiver: 'etcd-monitor-history',
    status,
    alerts,
    groupLabels: { cluster: 'load' },
    commonLabels: { cluster: 'load', severity: 'warning' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: `{}/{}:{cluster="load", batch="${batch}"}`,
    truncatedAlerts: 0,
  });
}

/** POSTs a body to the exporter's webhook; returns status, parsed body and the wall time in ms. */
export async function postWebhook(
  baseUrl: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/api/v1/alerts/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, json, ms: performance.now() - started };
}

/** The history file's events (one JSON object per line; torn or corrupt lines left out). */
export async function historyFileEvents(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').flatMap((line) => {
    try {
      const v = JSON.parse(line) as unknown;
      return typeof v === 'object' && v !== null ? [v as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}
