import type { IncomingMessage } from 'node:http';
import type { MikroORM } from '@mikro-orm/postgresql';
import { authenticate } from '../auth/authenticate.js';
import type { Actor, RequestMeta } from '../auth/scopes.js';
import { BadRequestError } from '../domain/errors.js';
import type { RestResponse } from './rest-errors.js';

export interface RestRequest {
  actor: Actor;
  meta: RequestMeta;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  handle(request: RestRequest): Promise<RestResponse>;
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
    private readonly orm: MikroORM,
    private readonly bodyLimit: number,
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

  async handle(req: IncomingMessage, url: URL, meta: RequestMeta): Promise<RestResponse> {
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
    const actor = await authenticate(this.orm.em.fork(), req.headers.authorization);
    const values = route.pattern.exec(url.pathname)!.slice(1);
    const params = Object.fromEntries(route.paramNames.map((name, i) => [name, decode(values[i])]));
    const body =
      route.method === 'POST' || route.method === 'PATCH' ? await this.readJsonObject(req) : undefined;
    return route.handle({ actor, meta, params, query: url.searchParams, body });
  }

  private async readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
    const declared = Number(req.headers['content-length']);
    if (declared > this.bodyLimit) throw new PayloadTooLargeError();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.bodyLimit) throw new PayloadTooLargeError();
      chunks.push(chunk);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new BadRequestError('The request body must be a JSON object (it is not valid JSON)');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new BadRequestError('The request body must be a JSON object');
    }
    return parsed as Record<string, unknown>;
  }
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
