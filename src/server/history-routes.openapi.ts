import {
  arr,
  authErrors,
  clusterParam,
  count,
  err,
  json,
  num,
  obj,
  orNull,
  ref,
  str,
  time,
  type ApiDescription,
} from '../http/openapi-schema.js';
import { HISTORY_METRICS, MAX_POINTS } from './history-routes.js';

/** OpenAPI description of the route in ./history-routes.ts (series over time, answered by Prometheus). */

const metric = { enum: Object.keys(HISTORY_METRICS) };
const optionalText = (name: string, description: string) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type: 'string' },
});

export const metricsHistoryApi: ApiDescription = {
  schemas: {
    MetricsHistory: obj({
      metric,
      unit: str,
      cluster: orNull(str),
      start: time,
      end: time,
      step_seconds: num,
      query: { type: 'string', description: 'The PromQL sent to Prometheus.' },
      series: arr(
        obj({
          cluster: orNull(str),
          points: arr({ type: 'array', prefixItems: [num, orNull(num)], minItems: 2, maxItems: 2 }),
        }),
      ),
    }),
  },
  paths: {
    '/api/v1/metrics/history': {
      get: {
        summary: 'A named series over time, answered by the Prometheus given with --prometheus-url.',
        parameters: [
          { name: 'metric', in: 'query', required: true, schema: metric },
          { ...clusterParam, description: 'Only this cluster (default: all).' },
          optionalText('start', 'RFC 3339 or Unix seconds; default end − 1h.'),
          optionalText('end', 'RFC 3339 or Unix seconds; default now.'),
          optionalText('step', 'Duration such as 15s or 1m; at least 1s.'),
        ],
        responses: {
          '200': json(ref('MetricsHistory'), 'Series.'),
          '400': err(`Bad or unknown parameter, or more than ${count(MAX_POINTS)} points.`),
          ...authErrors,
          '502': err('Prometheus failed or rejected the query.'),
          '503': err('No --prometheus-url configured.'),
        },
      },
    },
  },
};
