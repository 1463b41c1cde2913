/**
 * A small HTTP client for the integrity scripts and tests (no vitest import, so scripts can use it).
 * It speaks node:http directly: raw paths (percent-encoded ids, `%zz`) and any header values are sent
 * exactly as given, which `fetch` would normalize or refuse.
 */
import http from 'node:http';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
  /** Set when no HTTP response arrived (connection refused or reset, timeout). */
  networkError?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface RequestOptions {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  timeoutMs?: number;
}

export function request(baseUrl: string, options: RequestOptions): Promise<HttpResult> {
  const url = new URL(baseUrl);
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
  if (payload !== undefined) {
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: HttpResult) => {
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers,
        agent,
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (error) =>
          done({ status: 0, headers: {}, text: '', body: undefined, networkError: error.message }),
        );
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          done({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (error) =>
      done({ status: 0, headers: {}, text: '', body: undefined, networkError: error.message }),
    );
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** JSON REST calls with a bearer key. */
export function restClient(baseUrl: string, key: string) {
  return (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    request(baseUrl, { method, path, body, headers: { authorization: `Bearer ${key}`, ...headers } });
}

/** GraphQL POSTs with a bearer key. */
export function graphqlClient(baseUrl: string, key: string) {
  return (query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    request(baseUrl, {
      method: 'POST',
      path: '/graphql',
      body: { query, variables },
      headers: {
        authorization: `Bearer ${key}`,
        accept: 'application/graphql-response+json, application/json',
        ...headers,
      },
    });
}

/** The version in an ETag header (`"12"`), or NaN. */
export function etagVersion(result: HttpResult): number {
  const etag = result.headers.etag;
  return typeof etag === 'string' ? Number(etag.replace(/^W\//, '').replaceAll('"', '')) : Number.NaN;
}

/** Every version entry of a secret, oldest first, through the paged REST history. */
export async function allVersions(
  call: ReturnType<typeof restClient>,
  teamId: string,
  secretId: string,
): Promise<{ version: number; changed_fields: string[]; credential_version: number | null }[]> {
  const entries = [];
  for (let page = 1; ; page++) {
    const res = await call(
      'GET',
      `/v1/teams/${teamId}/secrets/${secretId}/versions?limit=100&page=${page}&sort_order=asc`,
    );
    if (res.status !== 200) throw new Error(`GET versions: ${res.status} ${res.text.slice(0, 200)}`);
    const items = pageItems(res);
    entries.push(...items);
    if (items.length < 100) return entries;
  }
}

/** Stack-trace and internals markers that must never appear in a response. */
export const LEAK_MARKERS = ['    at ', 'node_modules', '.ts:'];

export function leakMarkerIn(text: string): string | undefined {
  return LEAK_MARKERS.find((m) => text.includes(m));
}

/** The items of a REST list page (`data`; older builds said `items`). */
export function pageItems(res: HttpResult): any[] {
  const items = res.body?.data ?? res.body?.items;
  if (!Array.isArray(items)) throw new Error(`not a list page: ${res.status} ${res.text.slice(0, 200)}`);
  return items;
}
