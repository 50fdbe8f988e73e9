import {
  arr,
  authErrors,
  bool,
  clusterParam,
  count,
  err,
  int,
  json,
  mutationErrors,
  obj,
  orNull,
  pageBefore,
  pageLimit,
  ref,
  str,
  stringMap,
  time,
  type ApiDescription,
} from '../http/openapi-schema.js';
import { DEFAULT_MAX_FIRING, DEFAULT_RESOLVE_TIMEOUT_MS } from './history-store.js';
import { DEFAULT_PAGE, MAX_PAGE, WEBHOOK_BODY_LIMIT_BYTES } from './routes.js';
import { ALERT_STATUSES, MAX_ALERTS_PER_NOTIFICATION } from './webhook-payload.js';

/** OpenAPI description of the routes in ./routes.ts: Alertmanager's webhook, firing alerts, alert history. */

/** Fields of AlertEvent in ./history-event.ts. */
const alertEvent = obj(
  {
    seq: int,
    receivedAt: time,
    receiver: str,
    groupKey: str,
    status: { enum: [...ALERT_STATUSES] },
    alertname: str,
    cluster: str,
    severity: str,
    member: str,
    labels: stringMap,
    annotations: stringMap,
    startsAt: str,
    endsAt: str,
    generatorURL: str,
    fingerprint: str,
  },
  ['member'],
);

const listParams = [
  { ...clusterParam, description: 'Only this cluster.' },
  { name: 'alertname', in: 'query', required: false, schema: str },
  pageLimit(DEFAULT_PAGE, MAX_PAGE),
  pageBefore,
];

export const alertApi: ApiDescription = {
  schemas: { AlertEvent: alertEvent },
  paths: {
    '/api/v1/alerts': {
      get: {
        summary: `Alerts firing now, as last notified by Alertmanager, newest first and paged. An alert not re-sent within --alerts.resolve-timeout (${DEFAULT_RESOLVE_TIMEOUT_MS / 60_000}m) is no longer listed; at most ${count(DEFAULT_MAX_FIRING)} are kept.`,
        parameters: listParams,
        responses: {
          '200': json(
            obj({ count: int, total: int, nextBefore: orNull(int), alerts: arr(ref('AlertEvent')) }),
            'One page of firing alerts; total counts all that match.',
          ),
          '400': err('Bad parameter.'),
          ...authErrors,
        },
      },
    },
    '/api/v1/alerts/history': {
      get: {
        summary: 'Alert notifications received, newest first.',
        parameters: listParams,
        responses: {
          '200': json(
            obj({
              count: int,
              capacity: int,
              nextBefore: orNull(int),
              persistent: bool,
              corruptLinesSkipped: int,
              writeFailures: int,
              events: arr(ref('AlertEvent')),
            }),
            'History.',
          ),
          '400': err('Bad parameter.'),
          ...authErrors,
        },
      },
    },
    '/api/v1/alerts/webhook': {
      post: {
        summary: 'Alertmanager webhook receiver (webhook_configs url). Needs operator.',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', description: 'Alertmanager webhook payload, version 4.' },
            },
          },
        },
        responses: {
          '200': json(
            obj(
              {
                status: { const: 'ok' },
                recorded: int,
                refreshed: int,
                ignored: int,
                persisted: bool,
                warning: str,
              },
              ['warning'],
            ),
            "On disk (written and fsync'd): recorded = new events, refreshed = repeats of firing alerts, ignored = watchdogs. With no usable --data-dir: persisted false and a warning (memory only).",
          ),
          '400': err(
            `Malformed JSON or not a valid Alertmanager payload (at most ${count(MAX_ALERTS_PER_NOTIFICATION)} alerts).`,
          ),
          ...authErrors,
          ...mutationErrors,
          '413': err(`Body larger than ${WEBHOOK_BODY_LIMIT_BYTES / 2 ** 20} MiB (BODY_TOO_LARGE).`),
          '503': err(
            'The history could not be written (HISTORY_WRITE_FAILED, e.g. a full disk) or too many notifications at once (BUSY): Alertmanager retries.',
          ),
        },
      },
    },
  },
};
