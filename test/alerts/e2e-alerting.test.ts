import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/alerts/history-store.js';
import { renderRules } from '../../src/alerts/rules/render.js';
import {
  readShippedAlertmanagerConfig,
  renderAlertmanagerConfig,
  startAlertmanager,
  type RunningAlertmanager,
} from '../support/alertmanager.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import {
  slackTitle,
  startNotificationSinks,
  type NotificationSinks,
  type RecordedRequest,
} from '../support/sinks/index.js';

// Real faults all the way through: 3 etcd members → exporter → Prometheus (the bundled rules, `for`
// scaled to 2 %: EtcdQuorumLost 1 s, EtcdMembersDown 12 s) → Alertmanager (the shipped config, URLs
// pointed at local sinks, group_wait 1 s) → Slack/PagerDuty/webhook/SMTP sinks and the exporter's history.

const CLUSTER = 'e2e';
const FOR_SCALE = 0.02;
const DELIVERY_TIMEOUT_MS = 45_000;

let etcd: EtcdCluster;
let sinks: NotificationSinks;
let exporter: ExporterProcess;
let am: RunningAlertmanager;
let prom: RunningPrometheus;
let dir: string;
const timings: string[] = [];

/** Notes how long `what` took from the fault (or the repair, for resolved notifications) to delivery. */
function took(what: string, from: number, at: number, since: 'fault' | 'restart' = 'fault'): void {
  timings.push(`${what.padEnd(44)} ${((at - from) / 1000).toFixed(1).padStart(5)} s after the ${since}`);
}

async function history(query = ''): Promise<AlertEvent[]> {
  const { status, body } = await exporter.json<{ events: AlertEvent[] }>(
    `/api/v1/alerts/history?limit=1000${query}`,
  );
  if (status !== 200) throw new Error(`history answered ${status}`);
  return body.events;
}

async function firingNow(): Promise<AlertEvent[]> {
  return (await exporter.json<{ alerts: AlertEvent[] }>(`/api/v1/alerts?cluster=${CLUSTER}`)).body.alerts;
}

/** Prometheus's alerts named `name` for the test cluster in `state`. */
async function promAlerts(name: string, state: 'pending' | 'firing') {
  return (await prom.alerts()).filter(
    (a) => a.labels.alertname === name && a.labels.cluster === CLUSTER && a.state === state,
  );
}

const pdEvent = (r: RecordedRequest) =>
  r.json as {
    event_action: string;
    dedup_key: string;
    payload: { class: string; group: string; severity: string; summary: string };
  };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'e2e-alerting-'));
  etcd = await startCluster({ size: 3 });
  sinks = await startNotificationSinks();
  exporter = await startExporter({
    args: [
      '--endpoints',
      etcd.endpoints.join(','),
      '--cluster-name',
      CLUSTER,
      '--health-check-interval',
      '1s',
      '--metrics-interval',
      '1s',
    ],
  });
  const rendered = renderAlertmanagerConfig(await readShippedAlertmanagerConfig(), {
    targets: sinks.targets(`${exporter.url}/api/v1/alerts/webhook`),
    secretsDir: path.join(dir, 'secrets'),
    timings: { groupWait: '1s', groupInterval: '2s', repeatInterval: '1h' },
  });
  am = await startAlertmanager({
    configYaml: rendered.yaml,
    secrets: rendered.secrets,
    dir: path.join(dir, 'am'),
  });
  prom = await startPrometheus({
    scrapeTargets: [new URL(exporter.url).host],
    interval: '1s',
    ruleFiles: { 'etcd-monitor.rules.yml': renderRules({ forScale: FOR_SCALE }).rulesYaml },
    alertmanagers: [am.url],
  });
  // Baseline: Prometheus scrapes the exporter and sees all three members up with quorum.
  await waitFor(
    async () => {
      const up = await prom.query(`sum(etcd_monitor_member_up{cluster="${CLUSTER}"})`);
      const quorum = await prom.query(`etcd_monitor_cluster_quorum_available{cluster="${CLUSTER}"}`);
      return up[0]?.value[1] === '3' && quorum[0]?.value[1] === '1';
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'Prometheus to see 3 members up with quorum' },
  );
}, 180_000);

afterAll(async () => {
  if (timings.length) console.log(`[e2e] fault → delivery times:\n  ${timings.join('\n  ')}`);
  await prom?.stop();
  await am?.stop();
  await exporter?.stop();
  await sinks?.close();
  await etcd?.destroy();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('alerting end to end with real etcd, exporter, Prometheus and Alertmanager', () => {
  it('pages on quorum loss (PagerDuty, Slack, history), inhibits member alerts, and resolves on recovery', async () => {
    const stopped = [1, 2];
    const fault = Date.now();
    await Promise.all(stopped.map((i) => etcd.stop(i)));

    const isQuorumTrigger = (r: RecordedRequest) =>
      pdEvent(r)?.event_action === 'trigger' &&
      pdEvent(r).payload?.class === 'EtcdQuorumLost' &&
      r.receivedAt >= fault;
    const trigger = await sinks.pagerduty.waitForRequest(
      isQuorumTrigger,
      'EtcdQuorumLost trigger',
      DELIVERY_TIMEOUT_MS,
    );
    took('EtcdQuorumLost → PagerDuty', fault, trigger.receivedAt);
    expect(pdEvent(trigger).payload).toMatchObject({ group: CLUSTER, severity: 'critical' });
    expect(pdEvent(trigger).payload.summary).toMatch(/^\[e2e\] EtcdQuorumLost: /);

    const slack = await sinks.slack.waitForRequest(
      (r) => slackTitle(r.json) === `[FIRING:1] EtcdQuorumLost · cluster ${CLUSTER}` && r.receivedAt >= fault,
      'EtcdQuorumLost',
      DELIVERY_TIMEOUT_MS,
    );
    took('EtcdQuorumLost → Slack', fault, slack.receivedAt);

    const recorded = await waitFor(
      async () => (await history(`&alertname=EtcdQuorumLost`)).find((e) => e.status === 'firing'),
      { timeoutMs: DELIVERY_TIMEOUT_MS, intervalMs: 250, what: 'EtcdQuorumLost in the exporter history' },
    );
    took('EtcdQuorumLost → exporter history', fault, Date.parse(recorded.receivedAt));
    expect(recorded).toMatchObject({
      cluster: CLUSTER,
      severity: 'critical',
      receiver: 'etcd-monitor-history',
    });
    expect(recorded.labels).toMatchObject({
      alertname: 'EtcdQuorumLost',
      cluster: CLUSTER,
      severity: 'critical',
    });
    expect(recorded.labels.member).toBeUndefined();
    expect(recorded.annotations.runbook_url).toMatch(/#etcdquorumlost$/);
    expect((await firingNow()).map((e) => e.alertname)).toContain('EtcdQuorumLost');

    // EtcdMembersDown fires in Prometheus for both stopped members, and Alertmanager holds it back.
    await waitFor(async () => (await promAlerts('EtcdMembersDown', 'firing')).length === 2, {
      timeoutMs: DELIVERY_TIMEOUT_MS,
      intervalMs: 500,
      what: 'Prometheus to fire EtcdMembersDown for both stopped members',
    });
    await waitFor(
      async () => {
        const held = (await am.alerts()).filter(
          (a) =>
            a.labels.alertname === 'EtcdMembersDown' &&
            a.labels.cluster === CLUSTER &&
            a.status.inhibitedBy.length > 0,
        );
        return held.length === 2;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'Alertmanager to inhibit both EtcdMembersDown alerts' },
    );
    // Longer than group_wait + group_interval: had anything member-level been let through, it would be here.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const beforeRecovery = Date.now();
    const memberEvents = (await history(`&cluster=${CLUSTER}`)).filter((e) => e.member !== undefined);
    expect(memberEvents.map((e) => `${e.alertname}/${e.member}`)).toEqual([]);
    const memberSlack = sinks.slack.requests.filter((r) => slackTitle(r.json).includes('EtcdMembersDown'));
    expect(memberSlack).toEqual([]);
    expect(sinks.smtp.messages.filter((m) => m.subject.includes('EtcdMembersDown'))).toEqual([]);
    expect(
      sinks.pagerduty.requests.filter(
        (r) => r.body.includes('"members":"e2e') || r.body.includes('EtcdMembersDown'),
      ),
    ).toEqual([]);

    const recovery = Date.now();
    await Promise.all(stopped.map((i) => etcd.restart(i)));
    const resolve = await sinks.pagerduty.waitForRequest(
      (r) => pdEvent(r)?.event_action === 'resolve' && pdEvent(r).dedup_key === pdEvent(trigger).dedup_key,
      'EtcdQuorumLost resolve with the trigger dedup key',
      DELIVERY_TIMEOUT_MS,
    );
    took('EtcdQuorumLost resolved → PagerDuty', recovery, resolve.receivedAt, 'restart');
    const slackResolved = await sinks.slack.waitForRequest(
      (r) => slackTitle(r.json) === `[RESOLVED] EtcdQuorumLost · cluster ${CLUSTER}`,
      'EtcdQuorumLost resolved',
      DELIVERY_TIMEOUT_MS,
    );
    took('EtcdQuorumLost resolved → Slack', recovery, slackResolved.receivedAt, 'restart');
    const resolvedEvent = await waitFor(
      async () => (await history(`&alertname=EtcdQuorumLost`)).find((e) => e.status === 'resolved'),
      {
        timeoutMs: DELIVERY_TIMEOUT_MS,
        intervalMs: 250,
        what: 'resolved EtcdQuorumLost in the exporter history',
      },
    );
    took(
      'EtcdQuorumLost resolved → exporter history',
      recovery,
      Date.parse(resolvedEvent.receivedAt),
      'restart',
    );
    expect(resolvedEvent.fingerprint).toBe(recorded.fingerprint);
    expect((await firingNow()).map((e) => e.alertname)).not.toContain('EtcdQuorumLost');
    // Member alerts stayed quiet for the whole outage (anything after recovery began may be a real straggler).
    expect(
      (await history(`&cluster=${CLUSTER}`)).filter(
        (e) => e.member !== undefined && Date.parse(e.receivedAt) < beforeRecovery,
      ),
    ).toEqual([]);
  }, 150_000);

  it('sends a warning by Slack and email when one member stops, and resolves it on restart', async () => {
    await etcd.waitHealthy();
    await waitFor(async () => (await promAlerts('EtcdMembersDown', 'firing')).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'EtcdMembersDown to clear after the previous scenario',
    });
    const victim = etcd.members[1];
    const fault = Date.now();
    await etcd.stop(1);

    const slack = await sinks.slack.waitForRequest(
      (r) =>
        r.receivedAt >= fault &&
        slackTitle(r.json).startsWith('[FIRING') &&
        slackTitle(r.json).includes(`EtcdMembersDown · cluster ${CLUSTER}`),
      'EtcdMembersDown warning',
      DELIVERY_TIMEOUT_MS,
    );
    took('EtcdMembersDown (warning) → Slack', fault, slack.receivedAt);
    expect(slack.json).toMatchObject({ attachments: [{ color: 'warning' }] });
    const mail = await sinks.smtp.waitForMail(
      (m) =>
        m.receivedAt >= fault &&
        m.subject.startsWith('[FIRING') &&
        m.subject.includes(`[warning] EtcdMembersDown on etcd cluster ${CLUSTER}`),
      'EtcdMembersDown warning mail',
      DELIVERY_TIMEOUT_MS,
    );
    took('EtcdMembersDown (warning) → email', fault, mail.receivedAt);
    const event = (await history(`&alertname=EtcdMembersDown`)).find(
      (e) => e.status === 'firing' && Date.parse(e.receivedAt) >= fault,
    );
    expect(event).toMatchObject({ cluster: CLUSTER, severity: 'warning' });
    expect([victim?.name, victim?.clientUrl]).toContain(event?.member);
    expect(mail.text).toContain(`member: ${event?.member}`);
    expect(sinks.pagerduty.requests.filter((r) => r.body.includes('EtcdMembersDown'))).toEqual([]);

    const recovery = Date.now();
    await etcd.restart(1);
    const resolved = await sinks.slack.waitForRequest(
      (r) =>
        r.receivedAt >= recovery && slackTitle(r.json) === `[RESOLVED] EtcdMembersDown · cluster ${CLUSTER}`,
      'EtcdMembersDown resolved',
      DELIVERY_TIMEOUT_MS,
    );
    took('EtcdMembersDown resolved → Slack', recovery, resolved.receivedAt, 'restart');
  }, 120_000);
});
