import type { Logger } from '../util/logger.js';
import type { WebhookPayload } from './webhook-payload.js';

// A notification may carry 10,000 alerts; one log line stays small (the history API has them all).
const LOGGED_ALERTS = 20;

/** Console channel: one log line per received notification, warn while firing and info once resolved. */
export function logNotification(log: Logger, payload: WebhookPayload): void {
  const firing = payload.alerts.filter((a) => a.status === 'firing').length;
  const title = payload.status === 'firing' ? `FIRING:${firing}` : 'RESOLVED';
  const name = payload.groupLabels.alertname ?? payload.commonLabels.alertname ?? '(several alerts)';
  const cluster = payload.groupLabels.cluster ?? payload.commonLabels.cluster;
  const alerts = payload.alerts.slice(0, LOGGED_ALERTS).map((a) => ({
    status: a.status,
    alertname: a.labels.alertname,
    cluster: a.labels.cluster,
    member: a.labels.member,
    severity: a.labels.severity,
    summary: a.annotations.summary,
  }));
  const line = {
    receiver: payload.receiver,
    groupKey: payload.groupKey,
    truncatedAlerts: payload.truncatedAlerts,
    alerts,
    ...(payload.alerts.length > LOGGED_ALERTS
      ? { alertsNotLogged: payload.alerts.length - LOGGED_ALERTS }
      : {}),
  };
  const msg = `alert notification [${title}] ${name}${cluster ? ` cluster=${cluster}` : ''}`;
  if (payload.status === 'firing') log.warn(line, msg);
  else log.info(line, msg);
}
