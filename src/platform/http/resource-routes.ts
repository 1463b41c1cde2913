/**
 * Builders of the routes most resources have: a page of the team's list, a route on one item (get,
 * change, act on it) and a delete, each with the responses its kind always has.
 */
import type { z } from 'zod';
import { type ListQuery, type Page, restPage, restPageSchema } from '../../domain/paging.js';
import { deleted, notFound, type ResponseDoc, type RouteDoc } from './rest-docs.js';
import type { RestRequest, Route } from './rest-router.js';

/**
 * `GET path`: a page of a team's list. `query` is the list's query string (`restListQuery`): the
 * OpenAPI document shows its schema, and the handler parses the request's with it (after the router
 * applied the scope); `list` calls the service with what it parsed, `view` renders each item, and
 * `page` says what the 200 holds.
 */
export function listRoute<Parsed extends { page: number; list: ListQuery<string> }, T, R>(options: {
  path: string;
  doc: Omit<RouteDoc, 'query' | 'responses'>;
  query: { schema: z.ZodObject; parse(query: URLSearchParams): Parsed };
  page: [description: string, item: z.ZodType];
  list(request: RestRequest, parsed: Parsed): Promise<Page<T>>;
  view(item: T): R;
}): Route {
  const [description, item] = options.page;
  return {
    method: 'GET',
    path: options.path,
    doc: {
      ...options.doc,
      query: options.query.schema,
      responses: { 200: { description, schema: restPageSchema(item) } },
    },
    handle: async (request) => {
      const parsed = options.query.parse(request.query);
      const result = await options.list(request, parsed);
      return { status: 200, body: restPage(parsed.page, parsed.list, result, options.view) };
    },
  };
}

/** A route's doc without the responses its helper adds; `responses` has the route's own others (409, 412). */
export type ItemRouteDoc = Omit<RouteDoc, 'responses'> & { responses?: RouteDoc['responses'] };

/**
 * A route on one item of a team (get, change or act on it), 404 when the item is not the caller's
 * (`what` names it: `API key`). `run` does the work, `view` renders the item it gives, and `response` says what the 200 holds.
 */
export function itemRoute<T>(options: {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  what: string;
  doc: ItemRouteDoc;
  response: ResponseDoc;
  run(request: RestRequest): Promise<T>;
  view(item: T): unknown;
}): Route {
  const { run, view } = options;
  return {
    method: options.method,
    path: options.path,
    doc: {
      ...options.doc,
      responses: { 200: options.response, 404: notFound(options.what), ...options.doc.responses },
    },
    handle: async (request) => ({ status: 200, body: view(await run(request)) }),
  };
}

/** `DELETE path`: 204 without a body once `delete` is done, 404 when the item (`what`) is not the caller's. */
export function deleteRoute(options: {
  path: string;
  what: string;
  doc: ItemRouteDoc;
  delete(request: RestRequest): Promise<unknown>;
}): Route {
  const { what } = options;
  return {
    method: 'DELETE',
    path: options.path,
    doc: {
      ...options.doc,
      responses: {
        204: deleted(what.charAt(0).toUpperCase() + what.slice(1)),
        404: notFound(what),
        ...options.doc.responses,
      },
    },
    handle: async (request) => {
      await options.delete(request);
      return { status: 204 };
    },
  };
}
