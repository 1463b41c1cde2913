/**
 * Documentation metadata for REST routes (`Route.doc`) and the response schemas every route shares.
 * src/app/openapi.ts turns them into the OpenAPI document; the zod schemas here and beside each view
 * are the single description of a body: request schemas are the ones that validate, response schemas
 * type the views that build the bodies.
 */
import { z } from 'zod';
import type { Scope } from '../../domain/scopes.js';

/** Response headers a route can name (X-Request-Id and X-RateLimit-* are on every response anyway). */
export type ResponseHeader = 'ETag' | 'Retry-After' | 'WWW-Authenticate' | 'Idempotent-Replayed';

export interface ResponseDoc {
  description: string;
  /** The JSON body; omitted when there is none (204). */
  schema?: z.ZodType;
  /** Headers the response carries: `always`, or only `sometimes` (e.g. no ETag on a dry run). */
  headers?: Partial<Record<ResponseHeader, 'always' | 'sometimes'>>;
}

export interface RouteDoc {
  /** Unique across the API, camelCase: `createSecret`. */
  operationId: string;
  summary: string;
  description?: string;
  tags: [string, ...string[]];
  /** The scope the API key must carry; its creator needs the scope's minimum role as well. */
  scope: Scope;
  /** Path parameters that are not UUIDs; every other `:name` in the path is a UUID. */
  params?: Record<string, z.ZodType>;
  /** The zod object that validates the query string. */
  query?: z.ZodObject;
  /** Request headers the route reads: name → what it does. */
  requestHeaders?: Record<string, string>;
  /** The zod schema that validates the JSON body (POST and PATCH). */
  body?: z.ZodType;
  /**
   * The success response and the route's own errors (409, 412, 503, ...). The statuses every route
   * can answer (401, 403, 404, 422, 429, 500; 400 and 413 with a body; 409 for Idempotency-Key on writes)
   * are added unless given here.
   */
  responses: Record<number, ResponseDoc>;
}

/** Every id in a response: a UUID in lower case. */
export const idSchema = z.guid();
/** Every timestamp in a response: ISO-8601 in UTC with milliseconds and `Z`. */
export const timestampSchema = z.iso
  .datetime()
  .meta({ id: 'Timestamp', description: 'ISO-8601 in UTC, e.g. 2026-11-26T10:15:30.123Z.' });

/** The fields a named resource's response starts with. */
export const namedResourceFields = { id: idSchema, name: z.string(), description: z.string().nullable() };
/** Who created a resource, and when. */
export const createdFields = { created_at: timestampSchema, created_by: idSchema };
/** Who changed a resource last, and when. */
export const updatedFields = { updated_at: timestampSchema, updated_by: idSchema };

/**
 * A named resource's response (`LocationResponse`): id, name and description, its own `fields`, then
 * who created it and who changed it last.
 */
export function namedResourceResponseSchema<Shape extends z.ZodRawShape>(id: string, fields: Shape) {
  return z.object({ ...namedResourceFields, ...fields, ...createdFields, ...updatedFields }).meta({ id });
}

/** The FastAPI-style error body (400, 401, 403, 404, 409, 413, 503): see restError(). */
export const errorResponseSchema = z
  .object({ detail: z.string().meta({ description: 'What went wrong, for humans.' }) })
  .meta({ id: 'ErrorResponse', description: 'An error: `{"detail": "..."}`.' });

/** 422: FastAPI's `{detail: [{loc, msg, type}]}`, one entry per problem. */
export const validationErrorResponseSchema = z
  .object({
    detail: z
      .array(
        z
          .object({
            loc: z
              .tuple([z.enum(['body', 'query', 'path', 'header'])], z.union([z.string(), z.number().int()]))
              .meta({ description: 'Where: the input part, then the field path in it.' }),
            msg: z.string(),
            type: z.string().meta({ description: 'Machine-readable kind: missing, string_too_long, ...' }),
          })
          .meta({ id: 'ValidationIssue' }),
      )
      .min(1),
  })
  .meta({ id: 'HTTPValidationError', description: 'Invalid input: one entry per problem.' });

/** 412: an If-Match that names an older version. */
export const preconditionFailedResponseSchema = errorResponseSchema
  .extend({ current_version: z.number().int().min(1) })
  .meta({ id: 'PreconditionFailedResponse', description: 'The If-Match version is not the current one.' });

/** 429: both the FastAPI `detail` and DataRaven's `{error, message}`. */
export const rateLimitedResponseSchema = errorResponseSchema
  .extend({ error: z.literal('Rate limit exceeded'), message: z.string() })
  .meta({ id: 'RateLimitedResponse', description: 'Too many requests; retry after Retry-After seconds.' });

/** 500: an unexpected error, logged under the request id it names; never details of the failure. */
export const internalErrorResponseSchema = errorResponseSchema.extend({ request_id: z.string() }).meta({
  id: 'InternalErrorResponse',
  description: 'An unexpected error; quote `request_id` when reporting it.',
});

/** A 409 whose body is just `detail`. */
export function conflict(description: string, schema: z.ZodType = errorResponseSchema): ResponseDoc {
  return { description, schema };
}

/** 503 from a route that writes to the credential store (SSM Parameter Store in production). */
export const credentialStoreUnavailable: ResponseDoc = {
  description: 'The credential store did not answer; nothing was changed. Retry after Retry-After seconds.',
  schema: errorResponseSchema,
  headers: { 'Retry-After': 'always' },
};

/** The request header of a route that honours If-Match (its 412 is `preconditionFailed`). */
export const ifMatchHeader = {
  'If-Match':
    'Optional: `"<version>"` from an ETag. The request fails with 412 unless it is the current version; `*` or no header: unconditional.',
};

/** 412 from a route that honours If-Match. */
export const preconditionFailed: ResponseDoc = {
  description: 'If-Match names a version that is no longer current; the ETag header has the current one.',
  schema: preconditionFailedResponseSchema,
  headers: { ETag: 'always' },
};

/** 204 from a delete. */
export function deleted(what: string): ResponseDoc {
  return { description: `${what} deleted; no body.` };
}

/** 404 for a route with a resource id: the resource or the team is not the caller's. */
export function notFound(what: string): ResponseDoc {
  return {
    description: `No ${what} with this id in the team, or the team is not the API key's team.`,
    schema: errorResponseSchema,
  };
}
