/**
 * The GraphQL door and the API docs are loaded on their first request. A load that fails (a module
 * that cannot be read, a schema that cannot be built) answers that request with a 500 and is tried
 * again on the next one, rather than failing every later request until a restart. A second server on
 * the test app's real services, whose loaders fail once.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverParts } from '../src/app/app.js';
import { createHttpServer } from '../src/platform/http/server.js';
import { createLogger } from '../src/platform/logger.js';
import { type TestTeam, useApp } from './support/harness.js';

/** `load`, except that its first call fails. */
function failingOnce<T>(load: () => Promise<T>): { load: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    load: async () => {
      calls++;
      if (calls === 1) throw new Error('the module could not be loaded');
      return load();
    },
    calls: () => calls,
  };
}

const t = useApp();
let team: TestTeam;
let server: Server;
let url: string;
let schema: ReturnType<typeof failingOnce>;
let docs: ReturnType<typeof failingOnce>;

beforeAll(async () => {
  team = await t.newTeam();
  const parts = serverParts(t.config, t.app.services);
  schema = failingOnce(parts.loadGraphQLSchema);
  docs = failingOnce(parts.loadApiDocs);
  server = createHttpServer({
    config: t.config,
    services: t.app.services,
    logger: createLogger('silent'),
    ready: async () => {},
    ...parts,
    loadGraphQLSchema: schema.load as typeof parts.loadGraphQLSchema,
    loadApiDocs: docs.load as typeof parts.loadApiDocs,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('a part loaded on first use', () => {
  it('GraphQL: a failed load is a 500 for that request; the next request loads it again and runs', async () => {
    const ask = () =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${team.ownerKey}` },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    const first = await ask();
    expect(first.status).toBe(500);
    expect(await first.text()).not.toContain('could not be loaded');
    const second = await ask();
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ data: { __typename: 'Query' } });
    expect((await ask()).status).toBe(200);
    expect(schema.calls()).toBe(2);
  });

  it('API docs: a failed load is a 500 for that request; the next request loads them again', async () => {
    expect((await fetch(`${url}/openapi.json`)).status).toBe(500);
    const second = await fetch(`${url}/openapi.json`);
    expect(second.status).toBe(200);
    expect((await second.json()).openapi).toBe('3.1.0');
    expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
    expect(docs.calls()).toBe(2);
  });
});
