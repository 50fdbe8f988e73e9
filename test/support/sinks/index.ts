import { startHttpSink, type HttpSink } from './http-sink.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

export { startHttpSink, type HttpSink, type RecordedRequest } from './http-sink.js';
export { startSmtpSink, type ReceivedMail, type SmtpSink } from './smtp-sink.js';

/** The local stand-ins for every service the shipped Alertmanager config notifies. */
export interface NotificationSinks {
  /** Slack incoming webhook; answers "ok" like Slack does. */
  slack: HttpSink;
  /** PagerDuty Events API v2; answers 202 like PagerDuty does. */
  pagerduty: HttpSink;
  /** The generic (info) webhook. */
  webhook: HttpSink;
  smtp: SmtpSink;
  /** URLs and the relay address in the shape renderAlertmanagerConfig wants (history URL given by the caller). */
  targets(historyUrl: string): {
    slackUrl: string;
    pagerdutyUrl: string;
    webhookUrl: string;
    historyUrl: string;
    smtpAddress: string;
  };
  close(): Promise<void>;
}

/** Starts all sinks on free loopback ports. */
export async function startNotificationSinks(): Promise<NotificationSinks> {
  // As Slack's incoming webhooks answer: the text `ok` as text/html. Alertmanager 0.33 (not 0.25) checks
  // the body by its content type (JSON must be {"ok":true}); otherwise it retries and, the firing never
  // having been delivered, never sends the resolve.
  const slack = await startHttpSink({
    name: 'slack',
    reply: () => ({ status: 200, body: 'ok', contentType: 'text/html; charset=utf-8' }),
  });
  const pagerduty = await startHttpSink({
    name: 'pagerduty',
    reply: (req) => ({
      status: 202,
      body: {
        status: 'success',
        message: 'Event processed',
        dedup_key: (req.json as { dedup_key?: string })?.dedup_key,
      },
    }),
  });
  const webhook = await startHttpSink({ name: 'webhook' });
  const smtp = await startSmtpSink();
  return {
    slack,
    pagerduty,
    webhook,
    smtp,
    targets: (historyUrl) => ({
      slackUrl: `${slack.url}/services/T000/B000/XXXX`,
      pagerdutyUrl: `${pagerduty.url}/v2/enqueue`,
      webhookUrl: `${webhook.url}/etcd-alerts`,
      historyUrl,
      smtpAddress: smtp.address,
    }),
    async close() {
      await Promise.all([slack.close(), pagerduty.close(), webhook.close(), smtp.close()]);
    },
  };
}

/** Slack attachment title of a recorded Slack request ("" when the body is not Slack's shape). */
export function slackTitle(json: unknown): string {
  const attachments = (json as { attachments?: Array<{ title?: string }> } | undefined)?.attachments;
  return attachments?.[0]?.title ?? '';
}
