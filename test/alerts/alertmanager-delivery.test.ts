import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alertmanagerVersion,
  readShippedAlertmanagerConfig,
  renderAlertmanagerConfig,
  startAlertmanager,
  type RunningAlertmanager,
} from '../support/alertmanager.js';
import { waitFor } from '../../harness/processes.js';
import {
  slackTitle,
  startHttpSink,
  startNotificationSinks,
  type HttpSink,
  type NotificationSinks,
} from '../support/sinks/index.js';

// The shipped config run by the real Alertmanager, with every receiver pointed at a local sink. Alerts are
// posted straight to Alertmanager's API here; e2e-alerting.test.ts drives the same path from real etcd faults.

let sinks: NotificationSinks;
let history: HttpSink;
let deadman: HttpSink;
const BEARER = 'b3arer-from-file';
let am: RunningAlertmanager;
let dir: string;
const ROUTING_KEY = 'R0UT1NGKEY-from-file';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'am-delivery-'));
  sinks = await startNotificationSinks();
  history = await startHttpSink({ name: 'history' });
  deadman = await startHttpSink({ name: 'deadmans-switch' });
  const rendered = renderAlertmanagerConfig(await readShippedAlertmanagerConfig(), {
    targets: {
      ...sinks.targets(`${history.url}/api/v1/alerts/webhook`),
      pagerdutyRoutingKey: ROUTING_KEY,
      deadmansSwitchUrl: `${deadman.url}/ping`,
      bearerToken: BEARER,
    },
    secretsDir: path.join(dir, 'secrets'),
    timings: { groupWait: '1s', groupInterval: '2s', repeatInterval: '1h' },
  });
  am = await startAlertmanager({ configYaml: rendered.yaml, secrets: rendered.secrets, dir });
});
afterAll(async () => {
  await am?.stop();
  await sinks?.close();
  await history?.close();
  await deadman?.close();
  await rm(dir, { recursive: true, force: true });
});

const annotations = (name: string) => ({
  summary: `${name} summary.`,
  description: `${name} description.`,
  runbook_url: `https://runbooks.example/${name}`,
  value: '42',
});
const alert = (labels: Record<string, string>, endsAt?: Date) => ({
  labels,
  annotations: annotations(labels.alertname ?? ''),
  ...(endsAt ? { endsAt: endsAt.toISOString() } : {}),
});
/**
 * The `value` annotation ("42") in PagerDuty's custom_details, per Alertmanager version: 0.25 sends the
 * rendered text; 0.33 decodes a rendered detail that is valid JSON, so the number arrives as a number.
 * An Alertmanager not listed here fails the test: look at what it sends and add it.
 */
const PAGERDUTY_VALUE: Readonly<Record<string, unknown>> = { '0.25': '42', '0.33': 42 };
function pagerdutyValue(): unknown {
  const version = alertmanagerVersion();
  if (!(version in PAGERDUTY_VALUE))
    throw new Error(`no PagerDuty detail expectation for Alertmanager ${version}`);
  return PAGERDUTY_VALUE[version];
}
const bodyMentions = (sink: HttpSink, text: string) => sink.requests.filter((r) => r.body.includes(text));

describe('shipped Alertmanager config delivering to local sinks', () => {
  it('sends a critical to PagerDuty (key read from its file) and Slack, not to email or the info webhook', async () => {
    const labels = { alertname: 'EtcdQuorumLost', cluster: 'alpha', severity: 'critical' };
    await am.postAlerts([alert(labels)]);
    const pd = await sinks.pagerduty.waitForRequest(
      (r) => r.body.includes('EtcdQuorumLost'),
      'EtcdQuorumLost trigger',
    );
    expect(pd.path).toBe('/v2/enqueue');
    expect(pd.json).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      payload: {
        summary: '[alpha] EtcdQuorumLost: EtcdQuorumLost summary.',
        severity: 'critical',
        source: 'etcd cluster alpha',
        class: 'EtcdQuorumLost',
        group: 'alpha',
        custom_details: {
          cluster: 'alpha',
          runbook_url: 'https://runbooks.example/EtcdQuorumLost',
          value: pagerdutyValue(),
        },
      },
      links: [{ href: 'https://runbooks.example/EtcdQuorumLost', text: 'Runbook' }, { text: 'Silence' }],
    });
    expect((pd.json as { dedup_key: string }).dedup_key).toMatch(/^[0-9a-f]{64}$/);
    const slack = await sinks.slack.waitForRequest(
      (r) => slackTitle(r.json).includes('EtcdQuorumLost'),
      'EtcdQuorumLost',
    );
    expect(slack.path).toBe('/services/T000/B000/XXXX');
    expect(slackTitle(slack.json)).toBe('[FIRING:1] EtcdQuorumLost · cluster alpha');
    expect(slack.json).toMatchObject({
      attachments: [{ color: 'danger', title_link: 'https://runbooks.example/EtcdQuorumLost' }],
    });
    const hist = await history.waitForRequest((r) => r.body.includes('EtcdQuorumLost'), 'EtcdQuorumLost');
    expect(hist.json).toMatchObject({
      version: '4',
      receiver: 'etcd-monitor-history',
      status: 'firing',
      alerts: [{ labels }],
    });
    expect(sinks.smtp.messages.filter((m) => m.subject.includes('EtcdQuorumLost'))).toEqual([]);
    expect(bodyMentions(sinks.webhook, 'EtcdQuorumLost')).toEqual([]);
  });

  it('inhibits member-level and latency alerts of a cluster without quorum, but not of another cluster', async () => {
    await am.postAlerts([
      alert({ alertname: 'EtcdMembersDown', cluster: 'alpha', member: 'a1', severity: 'warning' }),
      alert({
        alertname: 'EtcdProbeLatencyHigh',
        cluster: 'alpha',
        member: 'a2',
        operation: 'read',
        severity: 'warning',
      }),
      alert({ alertname: 'EtcdMembersDown', cluster: 'beta', member: 'b1', severity: 'warning' }),
    ]);
    const mail = await sinks.smtp.waitForMail(
      (m) => m.subject.includes('EtcdMembersDown'),
      'EtcdMembersDown on beta',
    );
    expect(mail.subject).toBe('[FIRING:1] [warning] EtcdMembersDown on etcd cluster beta');
    const alerts = await waitFor(
      async () => {
        const list = await am.alerts();
        const muted = list.filter((a) => a.labels.cluster === 'alpha' && a.status.inhibitedBy.length > 0);
        return muted.length === 2 ? list : undefined;
      },
      { timeoutMs: 15_000, what: 'both alpha member alerts to be inhibited' },
    );
    expect(alerts.find((a) => a.labels.cluster === 'beta')?.status.state).toBe('active');
    // Two group_wait periods after the beta mail: nothing about alpha's members anywhere.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (const sink of [sinks.slack, sinks.pagerduty, sinks.webhook, history]) {
      expect(bodyMentions(sink, '"cluster":"alpha","member"'), sink.name).toEqual([]);
      expect(
        sink.requests.filter((r) => /EtcdProbeLatencyHigh/.test(r.body)),
        sink.name,
      ).toEqual([]);
    }
    expect(
      sinks.slack.requests
        .map((r) => slackTitle(r.json))
        .filter((t) => t.includes('EtcdMembersDown · cluster alpha')),
    ).toEqual([]);
    expect(sinks.smtp.messages.filter((m) => m.subject.includes('cluster alpha'))).toEqual([]);
  });

  it('sends a warning by Slack and by email (text and HTML), not to PagerDuty', async () => {
    const slack = await sinks.slack.waitForRequest(
      (r) => slackTitle(r.json).includes('EtcdMembersDown'),
      'warning',
    );
    expect(slackTitle(slack.json)).toBe('[FIRING:1] EtcdMembersDown · cluster beta');
    const mail = sinks.smtp.messages.find((m) => m.subject.includes('EtcdMembersDown'));
    expect(mail?.from).toBe('etcd-monitor@localhost');
    expect(mail?.to).toEqual(['etcd-oncall@localhost']);
    expect(mail?.text).toContain('cluster: beta  member: b1  value: 42  severity: warning');
    expect(mail?.html).toContain('<td>b1</td>');
    expect(bodyMentions(sinks.pagerduty, 'EtcdMembersDown')).toEqual([]);
  });

  it('lets the critical tier silence the warning tier of the same alert and cluster only', async () => {
    await am.postAlerts([
      alert({ alertname: 'EtcdHighFsyncDurations', cluster: 'gamma', member: 'g1', severity: 'critical' }),
      alert({ alertname: 'EtcdHighFsyncDurations', cluster: 'gamma', member: 'g1', severity: 'warning' }),
      alert({ alertname: 'EtcdHighCommitDurations', cluster: 'gamma', member: 'g1', severity: 'warning' }),
    ]);
    await sinks.pagerduty.waitForRequest((r) => r.body.includes('EtcdHighFsyncDurations'), 'critical fsync');
    await sinks.smtp.waitForMail(
      (m) => m.subject.includes('EtcdHighCommitDurations'),
      'warning commit (other alert)',
    );
    await waitFor(
      async () =>
        (await am.alerts()).find(
          (a) => a.labels.alertname === 'EtcdHighFsyncDurations' && a.labels.severity === 'warning',
        )?.status.inhibitedBy.length,
      { timeoutMs: 15_000, what: 'the fsync warning to be inhibited' },
    );
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(sinks.smtp.messages.filter((m) => m.subject.includes('EtcdHighFsyncDurations'))).toEqual([]);
  });

  it('sends info to the generic webhook only, and to the history with the bearer token read from its file', async () => {
    await am.postAlerts([
      alert({ alertname: 'EtcdDatabaseQuotaLowSpace', cluster: 'alpha', severity: 'info' }),
    ]);
    const hook = await sinks.webhook.waitForRequest(
      (r) => r.body.includes('EtcdDatabaseQuotaLowSpace'),
      'info alert',
    );
    expect(hook.json).toMatchObject({ receiver: 'info', status: 'firing' });
    const recorded = await history.waitForRequest(
      (r) => r.body.includes('EtcdDatabaseQuotaLowSpace'),
      'info alert in history',
    );
    expect(recorded.headers.authorization).toBe(`Bearer ${BEARER}`);
    expect(bodyMentions(sinks.slack, 'EtcdDatabaseQuotaLowSpace')).toEqual([]);
  });

  it("sends the always-firing watchdog to the dead-man's switch only (token from its file), never to the history", async () => {
    await am.postAlerts([alert({ alertname: 'EtcdMonitorWatchdog', cluster: 'all', severity: 'info' })]);
    const ping = await deadman.waitForRequest((r) => r.body.includes('EtcdMonitorWatchdog'), 'watchdog ping');
    expect(ping.path).toBe('/ping');
    expect(ping.headers.authorization).toBe(`Bearer ${BEARER}`);
    expect(ping.json).toMatchObject({ receiver: 'deadmans-switch', status: 'firing' });
    // Longer than group_interval (2 s): a copy for the history or a person would have gone out by now.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    for (const sink of [history, sinks.webhook, sinks.slack, sinks.pagerduty])
      expect(bodyMentions(sink, 'EtcdMonitorWatchdog'), sink.name).toEqual([]);
  });

  it('deduplicates: an unchanged firing group is not sent again within the repeat window', async () => {
    const triggers = () =>
      sinks.pagerduty.requests.filter((r) => r.body.includes('"class":"EtcdQuorumLost"')).length;
    expect(triggers()).toBe(1);
    await am.postAlerts([alert({ alertname: 'EtcdQuorumLost', cluster: 'alpha', severity: 'critical' })]);
    // Longer than group_interval (2 s): a changed group would have gone out by now.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(triggers()).toBe(1);
  });

  it('resolves on PagerDuty with the same dedup key, and on Slack and in history', async () => {
    const trigger = sinks.pagerduty.requests.find((r) => r.body.includes('EtcdQuorumLost'));
    await am.postAlerts([
      alert({ alertname: 'EtcdQuorumLost', cluster: 'alpha', severity: 'critical' }, new Date()),
    ]);
    const resolve = await sinks.pagerduty.waitForRequest(
      (r) => (r.json as { event_action?: string }).event_action === 'resolve',
      'resolve',
    );
    expect((resolve.json as { dedup_key: string }).dedup_key).toBe(
      (trigger?.json as { dedup_key: string }).dedup_key,
    );
    const slack = await sinks.slack.waitForRequest(
      (r) => slackTitle(r.json).startsWith('[RESOLVED] EtcdQuorumLost'),
      'resolved',
    );
    expect(slack.json).toMatchObject({ attachments: [{ color: 'good' }] });
    await history.waitForRequest(
      (r) => r.body.includes('EtcdQuorumLost') && (r.json as { status: string }).status === 'resolved',
      'resolved',
    );
    // With quorum back, alpha's member alerts are no longer inhibited and go out.
    await sinks.smtp.waitForMail(
      (m) => m.subject.includes('EtcdMembersDown on etcd cluster alpha'),
      'alpha member alert after quorum returned',
    );
  });
});
