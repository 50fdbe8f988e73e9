import { arr, authErrors, err, json, obj, str, type ApiDescription } from '../http/openapi-schema.js';

/** OpenAPI description of the routes ./app.ts serves itself: liveness, readiness and /metrics. */
export const appApi: ApiDescription = {
  paths: {
    '/health': {
      get: {
        summary: 'Liveness of the exporter process (never of etcd). Always open.',
        responses: { '200': json(obj({ status: { const: 'ok' } }), 'The process serves requests.') },
      },
    },
    '/ready': {
      get: {
        summary: 'Readiness: every cluster has completed its first collection round. Always open.',
        responses: {
          '200': json(obj({ status: { const: 'ready' }, clusters: arr(str) }), 'Ready.'),
          '503': err('Not ready yet.'),
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus exposition of the derived cluster health and the re-exposed member series.',
        description:
          'Needs viewer when the web config defines users or tokens, unless it sets etcd_monitor.metrics_auth: false.',
        responses: {
          '200': { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: str } } },
          ...authErrors,
        },
      },
    },
  },
};
