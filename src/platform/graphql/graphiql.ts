import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The operation GraphiQL opens on. */
export const DEFAULT_QUERY = `# Set the header {"Authorization": "Bearer dr_..."} below, put your team and secret ids in, and run.
mutation RenameSecret {
  updateSecret(
    teamId: "00000000-0000-0000-0000-000000000000"
    secretId: "00000000-0000-0000-0000-000000000000"
    input: { name: "renamed-secret" }
  ) {
    __typename
    ... on UpdateSecretSuccess { secret { id name version updatedAt } }
    ... on Error { message }
    ... on ValidationError { issues { path message code } }
  }
}
`;

/**
 * GraphiQL's page options. Yoga's GraphiQL bundle opens on `query` (else its own welcome text) and
 * ignores `defaultQuery`, so both are set; `headers` pre-fills the headers editor until the user has
 * stored headers of their own.
 */
export const GRAPHIQL_OPTIONS = {
  title: 'Cloud storage secrets',
  defaultQuery: DEFAULT_QUERY,
  query: DEFAULT_QUERY,
  headers: '{"Authorization": "Bearer dr_..."}',
};

/**
 * GraphiQL's browser bundle, served by this server from the `@graphql-yoga/graphiql` package when
 * it is installed, so the page (which keeps the API key) loads no third-party script and works
 * without internet access. Without the package, Yoga's page loads the bundle from unpkg.com.
 */
export const GRAPHIQL_ASSET_PATH = '/graphiql/';
const GRAPHIQL_ASSETS: Record<string, string> = {
  'graphiql.css': 'text/css; charset=utf-8',
  'yoga-graphiql.umd.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/editor.worker.bundle.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/json.worker.bundle.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/graphql.worker..bundle.js': 'text/javascript; charset=utf-8',
};

export function graphiqlAssetsDir(): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json');
    const dist = path.join(path.dirname(manifest), 'dist');
    for (const file of Object.keys(GRAPHIQL_ASSETS)) statSync(path.join(dist, file));
    return dist;
  } catch {
    return null;
  }
}

export function serveGraphiQLAsset(
  req: IncomingMessage,
  res: ServerResponse,
  dist: string,
  pathname: string,
): void {
  const file = pathname.slice(GRAPHIQL_ASSET_PATH.length);
  const type = Object.hasOwn(GRAPHIQL_ASSETS, file) ? GRAPHIQL_ASSETS[file] : undefined;
  if (!type || (req.method !== 'GET' && req.method !== 'HEAD')) {
    const notFound = JSON.stringify({ detail: 'Not Found' });
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(notFound) });
    res.end(notFound);
    return;
  }
  const full = path.join(dist, file);
  res.writeHead(200, {
    'x-content-type-options': 'nosniff',
    'cache-control': 'public, max-age=3600',
    'content-type': type,
    'content-length': statSync(full).size,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(full)
    .on('error', () => res.destroy())
    .pipe(res);
}
