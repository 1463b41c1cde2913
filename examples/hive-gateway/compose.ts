/**
 * Composes the supergraph that Hive Gateway serves, from our subgraph alone: reads the subgraph SDL from
 * a running server (`_service { sdl }`) or from a file, composes it with @theguild/federation-composition
 * and writes the supergraph.
 *
 *   SECRETS_API_KEY=dr_... npx tsx compose.ts [--url http://localhost:4000/graphql] [--out supergraph.graphql]
 *   npx tsx compose.ts --schema ../../schema.graphql [--url ...] [--out ...]
 *
 * `--url` (default: $SECRETS_GRAPHQL_URL, else http://localhost:4000/graphql) is where the SDL is read
 * from and where the gateway will send our subgraph's requests. $SECRETS_API_KEY, when set, is sent as
 * `Authorization: Bearer <key>` (a server with GRAPHQL_INTROSPECTION=false answers `_service` only to
 * a valid key); it is read from the environment so that it stays out of the process list.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.SECRETS_GRAPHQL_URL ?? 'http://localhost:4000/graphql' },
    schema: { type: 'string' },
    out: { type: 'string', default: 'supergraph.graphql' },
  },
});

async function fetchSubgraphSdl(url: string, apiKey: string | undefined): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = (await response.json().catch(() => null)) as {
    data?: { _service?: { sdl?: unknown } };
    errors?: { message: string }[];
  } | null;
  const sdl = body?.data?._service?.sdl;
  if (typeof sdl !== 'string') {
    const reasons = body?.errors?.map((error) => error.message).join('; ') || 'no SDL in the response';
    throw new Error(`${url} answered ${response.status}: ${reasons}`);
  }
  return sdl;
}

try {
  const sdl = args.schema
    ? await readFile(args.schema, 'utf8')
    : await fetchSubgraphSdl(args.url, process.env.SECRETS_API_KEY || undefined);
  const composed = composeServices([{ name: 'secrets', typeDefs: parse(sdl), url: args.url }]);
  if (composed.errors) throw new Error(composed.errors.map((error) => error.message).join('\n'));
  await writeFile(args.out, composed.supergraphSdl);
  console.error(`Wrote ${args.out} (subgraph "secrets" at ${args.url}).`);
} catch (error) {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  console.error(`compose: ${error instanceof Error ? error.message : String(error)}${cause}`);
  process.exitCode = 1;
}
