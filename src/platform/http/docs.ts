/**
 * GET /docs: the API reference, Swagger UI rendering /openapi.json. Every asset comes from this server
 * (the swagger-ui-dist package's files, by a fixed list of names), never from a CDN.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface DocsAsset {
  type: string;
  body: string | Buffer;
}

/** swagger-ui-dist's getAbsoluteFSPath(), without loading its index (which evaluates the 1.7 MB bundle). */
const getAbsoluteFSPath: () => string = createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js');

/** The only package files served, by name. */
const PACKAGE_FILES: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Cloud storage secrets: REST API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/** Our own initializer (the package's swagger-initializer.js points at the petstore). */
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

/** Scripts and styles from here only; Swagger UI sets inline styles and calls the API (same origin). */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const files = new Map<string, Promise<Buffer>>();

/** The page or asset at `pathname` (/docs, /docs/ or /docs/<name>); null for anything else. */
export async function docsAsset(pathname: string): Promise<DocsAsset | null> {
  if (pathname === '/docs' || pathname === '/docs/') return { type: 'text/html; charset=utf-8', body: PAGE };
  const name = pathname.startsWith('/docs/') ? pathname.slice('/docs/'.length) : '';
  if (name === 'init.js') return { type: 'text/javascript; charset=utf-8', body: INIT };
  const type = Object.hasOwn(PACKAGE_FILES, name) ? PACKAGE_FILES[name] : undefined;
  if (!type) return null;
  let file = files.get(name);
  if (!file) {
    file = readFile(join(getAbsoluteFSPath(), name));
    files.set(name, file);
    file.catch(() => files.delete(name));
  }
  return { type, body: await file };
}

/** Sends an asset (GET and HEAD), 404 for null, 405 for other methods. */
export function sendDocsAsset(req: IncomingMessage, res: ServerResponse, asset: DocsAsset | null): void {
  const base = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  const json = (status: number, detail: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      ...base,
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(JSON.stringify({ detail }));
  };
  if (!asset) {
    json(404, 'Not Found');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    json(405, 'Method Not Allowed', { allow: 'GET, HEAD' });
    return;
  }
  const body = typeof asset.body === 'string' ? Buffer.from(asset.body) : asset.body;
  res.writeHead(200, {
    ...base,
    'content-type': asset.type,
    'content-length': String(body.length),
    'cache-control': 'no-cache',
    ...(asset.type.startsWith('text/html') ? { 'content-security-policy': CSP } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
