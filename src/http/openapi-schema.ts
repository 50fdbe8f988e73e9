/**
 * Building blocks of the OpenAPI 3.1 document. Each router describes its own paths next to itself
 * (`<router>.openapi.ts`) with these; src/server/openapi.ts merges the parts into the served document.
 * Schemas are JSON Schema 2020-12 and strict (additionalProperties: false) wherever the shape is ours, so the
 * validation test (test/server/openapi.test.ts) notices when a handler and its description drift apart.
 */

export type Schema = Record<string, unknown>;

/** What one router contributes: its paths (keyed by the full path under the server root) and the schemas they $ref. */
export interface ApiDescription {
  readonly paths: Readonly<Record<string, Schema>>;
  readonly schemas?: Readonly<Record<string, Schema>>;
}

export const str: Schema = { type: 'string' };
export const int: Schema = { type: 'integer' };
export const num: Schema = { type: 'number' };
export const bool: Schema = { type: 'boolean' };
export const time: Schema = { type: 'string', format: 'date-time' };
export const orNull = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
export const arr = (items: Schema): Schema => ({ type: 'array', items });
export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const stringMap: Schema = { type: 'object', additionalProperties: str };

/** An object schema where every listed property is required unless named in `optional`. */
export function obj(properties: Record<string, Schema>, optional: string[] = [], extra = false): Schema {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: extra,
  };
}

/** The one error shape of the API (sendError in ./errors.ts): {"error": {"code", "message"}}. */
export const errorSchema: Schema = obj({ error: obj({ code: str, message: str }) });

/** A count as the document's prose writes it: 10,000. */
export const count = (n: number): string => n.toLocaleString('en-US');

/** A JSON response with this schema. */
export const json = (schema: Schema, description: string): Schema => ({
  description,
  content: { 'application/json': { schema } },
});
/** An error response (the Error schema). */
export const err = (description: string): Schema => json(ref('Error'), description);

/** ?cluster= as the /cluster routes read it; other routers override the description. */
export const clusterParam = {
  name: 'cluster',
  in: 'query',
  required: false,
  description: 'Cluster name (default: the first configured cluster).',
  schema: str,
};
/** ?limit= of a paged list (alert and leader history), as the router reads it. */
export const pageLimit = (defaultSize: number, max: number) => ({
  name: 'limit',
  in: 'query',
  required: false,
  description: `Page size (default ${defaultSize}).`,
  schema: { type: 'integer', minimum: 1, maximum: max },
});
/** ?before= of a paged list: the cursor the previous page returned. */
export const pageBefore = {
  name: 'before',
  in: 'query',
  required: false,
  description: "Only items with a seq below this: the previous page's nextBefore.",
  schema: { type: 'integer', minimum: 1 },
};

/** What authentication (src/server/security/auth.ts) answers before any handler runs. */
export const authErrors = {
  '401': err('Credentials are missing or wrong (only when the web config defines users or tokens).'),
  '403': err("The caller's role may not do this (reads need viewer, changes need operator)."),
  '429': err('Too many password checks queued (AUTH_BUSY); retry after the Retry-After seconds.'),
};
/** What the mutation guard (src/server/security/mutation-guard.ts) answers before any handler runs. */
export const mutationErrors = {
  '403': err(
    'Role below operator, or an Origin header not in --cors-origin (ORIGIN_NOT_ALLOWED): browser pages may not mutate.',
  ),
  '415': err('Not application/json (UNSUPPORTED_MEDIA_TYPE).'),
};
