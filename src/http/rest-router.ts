import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Actor, RequestMeta } from '../auth/scopes.js';
import { BadRequestError } from '../domain/errors.js';
import type { IdempotencyKeys } from './idempotency.js';
import type { RouteDoc } from './rest-docs.js';
import type { RestResponse } from './rest-errors.js';

export interface RestRequest {
  actor: Actor;
  meta: RequestMeta;
  params: Record<string, string>;
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
  /** What the OpenAPI document says about the route (src/http/openapi.ts); every route should have one. */
  doc?: RouteDoc;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  paramNames: string[];
}

export class PayloadTooLargeError extends Error {}

/** Matches `/v1/...` routes, authenticates, reads the JSON body and calls the handler. */
export class RestRouter {
  private readonly routes: CompiledRoute[];

  constructor(
    routes: Route[],
    private readonly bodyLimit: number,
    private readonly idempotency: IdempotencyKeys,
  ) {
    this.routes = routes.map((route) => {
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
    return (matching.find((r) => r.method === method) ?? matching[0])?.path;
  }

  /** `authenticated` is the caller, or the authentication failure to report once a route matched. */
  async handle(
    req: IncomingMessage,
    url: URL,
    meta: RequestMeta,
    authenticated: Actor | Error,
  ): Promise<RestResponse> {
    const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
    if (matching.length === 0) return { status: 404, body: { detail: 'Not Found' } };
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      return {
        status: 405,
        body: { detail: 'Method Not Allowed' },
        headers: { allow: matching.map((r) => r.method).join(', ') },
      };
    }
    if (authenticated instanceof Error) throw authenticated;
    const actor = authenticated;
    const values = route.pattern.exec(url.pathname)!.slice(1);
    const params = Object.fromEntries(route.paramNames.map((name, i) => [name, decode(values[i])]));
    const hasBody = route.method === 'POST' || route.method === 'PATCH';
    const raw = hasBody ? await this.readBody(req) : '';
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

  private async readBody(req: IncomingMessage): Promise<string> {
    const declared = Number(req.headers['content-length']);
    if (declared > this.bodyLimit) throw new PayloadTooLargeError();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.bodyLimit) throw new PayloadTooLargeError();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
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
