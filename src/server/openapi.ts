import { Router } from 'express';
import { alertApi } from '../alerts/routes.openapi.js';
import { authErrors, errorSchema, json, type ApiDescription, type Schema } from '../http/openapi-schema.js';
import { benchmarkApi } from '../loadgen/api-routes.openapi.js';
import { appApi } from './app.openapi.js';
import { clusterApi } from './cluster-routes.openapi.js';
import { metricsHistoryApi } from './history-routes.openapi.js';
import { leaderHistoryApi } from './leader-history-routes.openapi.js';

/**
 * The OpenAPI 3.1 description of every HTTP endpoint of the exporter (served at /api/v1/openapi.json).
 * Each router describes its own paths and schemas in a `<router>.openapi.ts` next to it; this module only
 * merges those parts and adds what belongs to the whole API: info, security schemes, the Error schema.
 */

/** This router's own part: the document itself. */
const openApiApi: ApiDescription = {
  paths: {
    '/api/v1/openapi.json': {
      get: {
        summary: 'This document.',
        responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document.'), ...authErrors },
      },
    },
  },
};

/** Every router's part, in the order the document lists them. */
const PARTS: readonly ApiDescription[] = [
  { paths: {}, schemas: { Error: errorSchema } },
  appApi,
  openApiApi,
  clusterApi,
  leaderHistoryApi,
  metricsHistoryApi,
  alertApi,
  benchmarkApi,
];

/** `entries` as one object; a key given twice is a programming error (two routers claiming one path). */
function mergeUnique(what: string, entries: Iterable<[string, Schema]>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const [key, value] of entries) {
    if (key in out) throw new Error(`OpenAPI ${what} "${key}" is described twice`);
    out[key] = value;
  }
  return out;
}

/**
 * Paths in the parts' order, except that a sub-resource follows its parent (/cluster/leader/history right
 * after /cluster/leader, though another router serves it), as a reader of the document expects.
 */
function parentsFirst(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const parent = out.filter((q) => p.startsWith(`${q}/`)).sort((a, b) => b.length - a.length)[0];
    if (parent === undefined) {
      out.push(p);
      continue;
    }
    let at = out.indexOf(parent) + 1;
    while (at < out.length && out[at]!.startsWith(`${parent}/`)) at++;
    out.splice(at, 0, p);
  }
  return out;
}

const REF = /"#\/components\/schemas\/([^"]+)"/g;

/**
 * The schemas in the order the document first refers to them (paths first, then schemas referring to
 * others). A $ref without a schema, or a schema nothing refers to, is a mistake in some router's part.
 */
function schemasByFirstUse(
  paths: Record<string, Schema>,
  schemas: Record<string, Schema>,
): Record<string, Schema> {
  const order: string[] = [];
  const visit = (node: unknown): void => {
    for (const [, name] of JSON.stringify(node).matchAll(REF)) {
      if (order.includes(name!)) continue;
      if (!(name! in schemas)) throw new Error(`OpenAPI $ref to undescribed schema "${name}"`);
      order.push(name!);
    }
  };
  visit(paths);
  for (let i = 0; i < order.length; i++) visit(schemas[order[i]!]);
  const unused = Object.keys(schemas).filter((name) => !order.includes(name));
  if (unused.length) throw new Error(`OpenAPI schemas never referred to: ${unused.join(', ')}`);
  return Object.fromEntries(order.map((name) => [name, schemas[name]!]));
}

const allPaths = mergeUnique(
  'path',
  PARTS.flatMap((part) => Object.entries(part.paths)),
);
const paths = Object.fromEntries(parentsFirst(Object.keys(allPaths)).map((p) => [p, allPaths[p]!]));
const schemas = schemasByFirstUse(
  paths,
  mergeUnique(
    'schema',
    PARTS.flatMap((part) => Object.entries(part.schemas ?? {})),
  ),
);

/** The document itself. */
export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  info: {
    title: 'etcd-monitor',
    version: '1',
    description:
      'REST API of the etcd-monitor exporter. Errors are always {"error": {"code", "message"}}. With a web config ' +
      'that defines users or tokens, everything but /health and /ready needs credentials: reads the viewer role, ' +
      'changes and the benchmark API the operator role. POST/PUT/DELETE accept only application/json and refuse ' +
      'an Origin not listed in --cors-origin.',
  },
  components: {
    schemas,
    securitySchemes: {
      basic: { type: 'http', scheme: 'basic' },
      bearer: { type: 'http', scheme: 'bearer' },
    },
  },
  security: [{}, { basic: [] }, { bearer: [] }],
  paths,
} as const;

/** GET /openapi.json (mount under /api/v1). */
export function createOpenApiRoutes(): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI_DOCUMENT);
  });
  return router;
}
