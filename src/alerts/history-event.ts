import { parseLoggedObject } from '../history/event-log.js';
import { isAlertStatus, type WebhookAlert, type WebhookPayload } from './webhook-payload.js';

/**
 * One alert's state as carried by one Alertmanager notification: the unit of alert history. The alert's
 * own fields and the notification's receiver and group key are Alertmanager's (WebhookAlert, WebhookPayload);
 * the rest is added on receipt. The field order of a stored line is eventsFromAlerts', not this one.
 */
export interface AlertEvent extends WebhookAlert, Pick<WebhookPayload, 'receiver' | 'groupKey'> {
  /** Increases by one per event, across restarts, so clients can page and order without clocks. */
  readonly seq: number;
  /** When the exporter received the notification (ISO 8601). */
  readonly receivedAt: string;
  /** The alertname, cluster and severity labels ('' when absent), lifted out for filtering. */
  readonly alertname: string;
  readonly cluster: string;
  readonly severity: string;
  /** Set for member-level alerts only. */
  readonly member?: string;
}

/** One event per alert of a notification (`alerts`: those of its alerts to record), numbered from `firstSeq`. */
export function eventsFromAlerts(
  payload: WebhookPayload,
  alerts: readonly WebhookAlert[],
  receivedAt: Date,
  firstSeq: number,
): AlertEvent[] {
  return alerts.map((alert, i) => {
    const member = alert.labels.member;
    return {
      seq: firstSeq + i,
      receivedAt: receivedAt.toISOString(),
      receiver: payload.receiver,
      groupKey: payload.groupKey,
      status: alert.status,
      alertname: alert.labels.alertname ?? '',
      cluster: alert.labels.cluster ?? '',
      severity: alert.labels.severity ?? '',
      ...(member !== undefined ? { member } : {}),
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      endsAt: alert.endsAt,
      generatorURL: alert.generatorURL,
      fingerprint: alert.fingerprint,
    };
  });
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

const STRING_FIELDS = [
  'receivedAt',
  'receiver',
  'groupKey',
  'alertname',
  'cluster',
  'severity',
  'startsAt',
  'endsAt',
  'generatorURL',
  'fingerprint',
] as const satisfies readonly (keyof AlertEvent)[];

/**
 * Parses one persisted JSON line back into an event; returns a reason string instead when the line is
 * not a well-formed event (torn write, hand edit, disk corruption) so the caller can skip and report it.
 */
export function parseEventLine(line: string): AlertEvent | string {
  const v = parseLoggedObject(line);
  if (typeof v === 'string') return v;
  for (const field of STRING_FIELDS) {
    if (typeof v[field] !== 'string') return `missing or bad "${field}"`;
  }
  if (!isAlertStatus(v.status)) return 'missing or bad "status"';
  if (v.member !== undefined && typeof v.member !== 'string') return 'bad "member"';
  if (!isStringMap(v.labels) || !isStringMap(v.annotations)) return 'missing or bad "labels"/"annotations"';
  return v as unknown as AlertEvent;
}
