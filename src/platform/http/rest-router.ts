import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { BadRequestError } from '../../domain/errors.js';
import { parsePathIds } from '../../domain/ids.js';
import type { Actor, RequestMeta } from '../../domain/scopes.js';
import { authorize } from '../../domain/scopes.js';
import type { IdempotencyKeys } from './idempotency.js';
import type { RouteDoc } from './rest-docs.js';
import type { RestResponse } from './rest-errors.js';

/**
 * A route's path parameters: every one an id, checked as a UUID and lower-cased. Every route is a
 * team's (`/v1/teams/:team_id/...`, checked when the router is built); the others are the route's own.
 */
export interface PathParams {
  readonly team_id: string;
  readonly [name: string]: string | undefined;
}

export interface RestRequest {
  actor: Actor;
  meta: RequestMeta;
  params: PathParams;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  /** An action whose body is optional: an empty body reads as `{}`. */
  bodyOptional?: boolean;
  handle(request: RestRequest): Promise<RestResponse>;
  /** What the OpenAPI document says about the route (src/app/openapi.ts); every route should have one. */
  doc?: RouteDoc;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  paramNames: string[];
}

/** HEAD is answered as GET is (Node drops the body of a HEAD response). */
function routeMethod(method: string | undefined): string | undefined {
  return method === 'HEAD' ? 'GET' : method;
}

/** The methods a path answers, as a 405's `Allow` header says them: HEAD wherever GET is. */
function allowedMethods(routes: Route[]): string {
  return routes.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method])).join(', ');
}

/** Matches `/v1/...` routes, authenticates, parses the JSON body and calls the handler. */
export class RestRouter {
  private readonly routes: CompiledRoute[];

  constructor(
    routes: Route[],
    private readonly idempotency: IdempotencyKeys,
  ) {
    this.routes = routes.map((route) => {
      if (!route.path.startsWith('/v1/teams/:team_id/')) throw new Error(`Not a team's route: ${route.path}`);
      const paramNames: string[] = [];
      const source = route.path.replace(/:([a-z_]+)/g, (_, name: string) => {
        paramNames.push(name);
        return '([^/]+)';
      });
      return { ...route, pattern: new RegExp(`^${source}$`), paramNames };
    });
  }

  /** The template (`/v1/teams/:team_id/...`) of the route a request goes to, for metrics: never ids. */
  templateOf(method: string | undefined, pathname: string): string | undefined {
    const matching = this.routes.filter((r) => r.pattern.test(pathname));
    return (matching.find((r) => r.method === routeMethod(method)) ?? matching[0])?.path;
  }

  /**
   * `authenticated` is the caller, or the authentication failure to report once a route matched;
   * `readBody` reads the request body as text (src/platform/http/server.ts), called only for a route that takes one.
   */
  async handle(
    req: IncomingMessage,
    url: URL,
    meta: RequestMeta,
    authenticated: Actor | Error,
    readBody: () => Promise<string>,
  ): Promise<RestResponse> {
    const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
    if (matching.length === 0) return { status: 404, body: { detail: 'Not Found' } };
    const route = matching.find((r) => r.method === routeMethod(req.method));
    if (!route) {
      return {
        status: 405,
        body: { detail: 'Method Not Allowed' },
        headers: { allow: allowedMethods(matching) },
      };
    }
    if (authenticated instanceof Error) throw authenticated;
    const actor = authenticated;
    const values = route.pattern.exec(url.pathname)!.slice(1);
    // Every path parameter is an id: checked (422 at ["path", name]) and lower-cased here, once.
    const params = parsePathIds(
      Object.fromEntries(route.paramNames.map((name, i) => [name, decode(values[i] ?? '')])),
    ) as PathParams;
    // The route's scope, with its role, for the path's team (404 for another team), before the body is
    // read: the same rule the services apply (src/domain/scopes.ts), as graphql-shield does at its door.
    if (route.doc) authorize(actor, params.team_id, route.doc.scope);
    const hasBody = route.method === 'POST' || route.method === 'PATCH';
    const raw = hasBody ? await readBody() : '';
    const body = hasBody ? parseJsonObject(raw, route.bodyOptional) : undefined;
    const run = () =>
      route.handle({ actor, meta, params, query: url.searchParams, headers: req.headers, body });
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || route.method === 'GET') return run();
    return this.idempotency.run(
      actor.apiKeyId,
      key,
      { method: route.method, path: url.pathname + url.search, body: raw },
      run,
    );
  }
}

function parseJsonObject(text: string, optional = false): Record<string, unknown> {
  if (optional && text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequestError('The request body must be a JSON object (it is not valid JSON)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestError('The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * `If-Match: "<version>"` (or `W/"<version>"`) as an expected version; `*` or no header: none.
 * Anything else can match no version, so it fails the precondition.
 */
export function expectedVersionFrom(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['if-match']?.trim();
  if (!value || value === '*') return undefined;
  const match = /^(?:W\/)?"(\d{1,9})"$/.exec(value);
  return match ? Number(match[1]) : -1;
}

export function etagOf(version: number): Record<string, string> {
  return { etag: `"${version}"` };
}
