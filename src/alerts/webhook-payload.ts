import { createHash } from 'node:crypto';
import { MonitorError } from '../util/errors.js';

/** An alert's (and a notification's) state, as Alertmanager sends it. */
export const ALERT_STATUSES = ['firing', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const isAlertStatus = (value: unknown): value is AlertStatus =>
  (ALERT_STATUSES as readonly unknown[]).includes(value);

/** One alert inside an Alertmanager webhook notification (payload version 4). */
export interface WebhookAlert {
  readonly status: AlertStatus;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  /** Alertmanager sends Go's zero time ("0001-01-01T00:00:00Z") while the end is unknown. */
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** Alertmanager's webhook notification body, version 4 (the only version Alertmanager has ever sent). */
export interface WebhookPayload {
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: AlertStatus;
  readonly receiver: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly commonLabels: Readonly<Record<string, string>>;
  readonly commonAnnotations: Readonly<Record<string, string>>;
  readonly externalURL: string;
  readonly alerts: readonly WebhookAlert[];
}

/** A webhook body that is not a valid Alertmanager v4 notification; `path` points at the bad field. */
export class WebhookPayloadError extends MonitorError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('INVALID_ALERT_PAYLOAD', `${path}: ${message}`);
  }
}

// Far above what one Alertmanager group sends; guards memory against a runaway or hostile sender.
export const MAX_ALERTS_PER_NOTIFICATION = 10_000;
const MAX_STRING_LENGTH = 64 * 1024;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown, path: string, opts: { optional?: boolean } = {}): string {
  if (value === undefined && opts.optional) return '';
  if (typeof value !== 'string') throw new WebhookPayloadError(path, `expected a string, got ${kind(value)}`);
  if (value.length > MAX_STRING_LENGTH) throw new WebhookPayloadError(path, 'string too long');
  return value;
}

function status(value: unknown, path: string): AlertStatus {
  if (isAlertStatus(value)) return value;
  const expected = ALERT_STATUSES.map((s) => JSON.stringify(s)).join(' or ');
  throw new WebhookPayloadError(path, `expected ${expected}, got ${JSON.stringify(value)}`);
}

function kv(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value))
    throw new WebhookPayloadError(path, `expected an object of strings, got ${kind(value)}`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) out[key] = str(v, `${path}.${key}`);
  return out;
}

function timestamp(value: unknown, path: string): string {
  const text = str(value, path);
  if (Number.isNaN(Date.parse(text))) throw new WebhookPayloadError(path, `not an RFC 3339 time: "${text}"`);
  return text;
}

function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** Alertmanager's own fingerprint is a label hash; this stands in only when a sender omits it. */
function labelsFingerprint(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

function parseAlert(value: unknown, path: string): WebhookAlert {
  if (!isObject(value)) throw new WebhookPayloadError(path, `expected an object, got ${kind(value)}`);
  const labels = kv(value.labels, `${path}.labels`);
  if (Object.keys(labels).length === 0)
    throw new WebhookPayloadError(`${path}.labels`, 'an alert needs labels');
  const fingerprint = str(value.fingerprint, `${path}.fingerprint`, { optional: true });
  return {
    status: status(value.status, `${path}.status`),
    labels,
    annotations: kv(value.annotations, `${path}.annotations`),
    startsAt: timestamp(value.startsAt, `${path}.startsAt`),
    endsAt: value.endsAt === undefined ? '0001-01-01T00:00:00Z' : timestamp(value.endsAt, `${path}.endsAt`),
    generatorURL: str(value.generatorURL, `${path}.generatorURL`, { optional: true }),
    fingerprint: fingerprint || labelsFingerprint(labels),
  };
}

/** Validates an untrusted request body as an Alertmanager v4 webhook notification, or throws WebhookPayloadError. */
export function parseWebhookPayload(body: unknown): WebhookPayload {
  if (!isObject(body)) throw new WebhookPayloadError('$', `expected a JSON object, got ${kind(body)}`);
  if (body.version !== '4') {
    throw new WebhookPayloadError(
      '$.version',
      `expected "4", got ${JSON.stringify(body.version) ?? 'nothing'}`,
    );
  }
  if (!Array.isArray(body.alerts))
    throw new WebhookPayloadError('$.alerts', `expected an array, got ${kind(body.alerts)}`);
  if (body.alerts.length === 0)
    throw new WebhookPayloadError('$.alerts', 'a notification carries at least one alert');
  if (body.alerts.length > MAX_ALERTS_PER_NOTIFICATION) {
    throw new WebhookPayloadError('$.alerts', `more than ${MAX_ALERTS_PER_NOTIFICATION} alerts`);
  }
  const truncated = body.truncatedAlerts ?? 0;
  if (typeof truncated !== 'number' || !Number.isInteger(truncated) || truncated < 0) {
    throw new WebhookPayloadError('$.truncatedAlerts', 'expected a non-negative whole number');
  }
  return {
    version: '4',
    groupKey: str(body.groupKey, '$.groupKey'),
    truncatedAlerts: truncated,
    status: status(body.status, '$.status'),
    receiver: str(body.receiver, '$.receiver'),
    groupLabels: kv(body.groupLabels, '$.groupLabels'),
    commonLabels: kv(body.commonLabels, '$.commonLabels'),
    commonAnnotations: kv(body.commonAnnotations, '$.commonAnnotations'),
    externalURL: str(body.externalURL, '$.externalURL', { optional: true }),
    alerts: body.alerts.map((alert, i) => parseAlert(alert, `$.alerts[${i}]`)),
  };
}
