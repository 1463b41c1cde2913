/**
 * Federation: our subgraph composed with a second ("transfers") subgraph and queried through a real
 * in-process Apollo gateway. Entities resolved through `_entities` obey the same tenancy and scope
 * rules as the direct queries.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { composeServices } from '@theguild/federation-composition';
import {
  type ExecutionResult,
  graphql as executeGraphQL,
  type GraphQLInputObjectType,
  type GraphQLSchema,
  getOperationAST,
  parse,
  validate,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unique } from './support/constants.js';
import { type Created, createLocation, createNativeSecret } from './support/factories.js';
import { graphql, rest, type TestTeam, useApp } from './support/harness.js';

const TRANSFERS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

  "A copy job between two locations (owned by the transfers service)."
  type Transfer {
    id: ID!
    source: Location!
  }

  "A location of the secrets service; only its key is known here."
  type Location @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type Query {
    transfers: [Transfer!]!
    transfer(id: ID!): Transfer
  }
`;

interface Transfer {
  id: string;
  source: { __typename: 'Location'; id: string };
}

const t = useApp();
let teamA: TestTeam;
let teamB: TestTeam;
let secretA: { id: string; name: string };
let locationsA: Created[];
let locationB: { id: string; name: string };
let vaultConnectionA: { id: string; name: string };
const transfers = new Map<string, Transfer>();
let transfersServer: Server;
let transfersUrl: string;
let ourSdl: string;
let supergraphSdl: string;
let gateway: ApolloGateway;
let gatewaySchema: GraphQLSchema;
let gatewayExecutor: Awaited<ReturnType<ApolloGateway['load']>>['executor'];

/** The transfers subgraph: @apollo/subgraph's schema behind a bare node:http GraphQL endpoint. */
async function startTransfersService(): Promise<void> {
  const schema = buildSubgraphSchema({
    typeDefs: parse(TRANSFERS_SDL),
    resolvers: {
      Query: {
        transfers: () => [...transfers.values()].filter((transfer) => !transfer.id.startsWith('foreign')),
        transfer: (_: unknown, args: { id: string }) => transfers.get(args.id) ?? null,
      },
    },
  });
  transfersServer = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const { query, variables, operationName } = JSON.parse(body || '{}');
    const result = await executeGraphQL({
      schema,
      source: query,
      variableValues: variables,
      operationName,
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
  });
  await new Promise<void>((resolve) => transfersServer.listen(0, '127.0.0.1', resolve));
  transfersUrl = `http://127.0.0.1:${(transfersServer.address() as AddressInfo).port}/graphql`;
}

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs an operation through the gateway the way a server around it would, as the holder of `key`. */
async function viaGateway(
  query: string,
  variables: Record<string, unknown> = {},
  key?: string,
): Promise<ExecutionResult<any>> {
  const document = parse(query);
  const errors = validate(gatewaySchema, document);
  if (errors.length) return { errors };
  const requestContext = {
    request: { query, variables },
    document,
    source: query,
    queryHash: createHash('sha256').update(query).digest('hex'),
    operationName: null,
    operation: getOperationAST(document),
    schema: gatewaySchema,
    context: { authorization: key ? `Bearer ${key}` : undefined },
    logger: quietLogger,
    metrics: {},
    cache: undefined,
  };
  return gatewayExecutor(requestContext as unknown as Parameters<typeof gatewayExecutor>[0]);
}

beforeAll(async () => {
  teamA = await t.newTeam();
  teamB = await t.newTeam();
  const secret = { credentials: { access_key_id: 'AKIAFEDERATION', secret_access_key: 'x'.repeat(30) } };
  secretA = await createNativeSecret(t, teamA, { ...secret, name: unique('fed-secret') });
  locationsA = [
    await createLocation(t, teamA, secretA.id, { name: unique('fed-location') }),
    await createLocation(t, teamA, secretA.id, { name: unique('fed-location') }),
  ];
  const secretB = await createNativeSecret(t, teamB, { ...secret, name: unique('fed-secret') });
  locationB = await createLocation(t, teamB, secretB.id, { name: unique('fed-location') });
  const connection = await rest(t.url, teamA.ownerKey)(
    'POST',
    `/v1/teams/${teamA.teamId}/vault-connections`,
    {
      name: unique('fed-vault'),
      vault_type: 'onepassword',
      access_token: `ops_${randomBytes(18).toString('hex')}`,
    },
  );
  expect(connection.status, connection.text).toBe(201);
  vaultConnectionA = connection.body;
  for (const [i, location] of locationsA.entries()) {
    transfers.set(`transfer-${i}`, {
      id: `transfer-${i}`,
      source: { __typename: 'Location', id: location.id },
    });
  }
  transfers.set('foreign-1', { id: 'foreign-1', source: { __typename: 'Location', id: locationB.id } });
  await startTransfersService();

  // What a gateway's composition step does: read each subgraph's SDL, without a key.
  const service = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const serviceBody = (await service.json()) as { data?: { _service: { sdl: string } }; errors?: unknown };
  expect(serviceBody.errors).toBeUndefined();
  ourSdl = serviceBody.data!._service.sdl;

  const composed = composeServices([
    { name: 'secrets', typeDefs: parse(ourSdl), url: `${t.url}/graphql` },
    { name: 'transfers', typeDefs: parse(TRANSFERS_SDL), url: transfersUrl },
  ]);
  expect(composed.errors ?? []).toEqual([]);
  supergraphSdl = composed.supergraphSdl!;

  gateway = new ApolloGateway({
    supergraphSdl,
    logger: quietLogger,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource({
        url,
        // The caller's key goes to every subgraph: each one authorizes for itself.
        willSendRequest({ request, context }) {
          const authorization = (context as { authorization?: string }).authorization;
          if (authorization) request.http?.headers.set('authorization', authorization);
        },
      }),
  });
  const loaded = await gateway.load();
  gatewaySchema = loaded.schema;
  gatewayExecutor = loaded.executor;
});

afterAll(async () => {
  await gateway?.stop();
  await new Promise((resolve) => transfersServer?.close(resolve));
});

describe('composition', () => {
  it('serves the same SDL as schema.graphql through _service, with @oneOf and @key', async () => {
    const { readFileSync } = await import('node:fs');
    expect(`${ourSdl}\n`).toBe(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
  });

  it('composes with another subgraph and keeps @oneOf in the supergraph', () => {
    for (const name of [
      'SecretValueInput',
      'CredentialsInput',
      'NewSecretValueInput',
      'VaultSettingsInput',
      'RotateVaultConnectionInput',
    ]) {
      expect(supergraphSdl, name).toMatch(new RegExp(`input ${name} [^{]*@oneOf`));
    }
    expect(supergraphSdl).toMatch(/type Location @join__type\(graph: SECRETS, key: "id"\)/);
    expect(supergraphSdl).toMatch(/type Transfer @join__type\(graph: TRANSFERS\)/);
    // The gateway's API schema enforces it too.
    expect((gatewaySchema.getType('SecretValueInput') as GraphQLInputObjectType).isOneOf).toBe(true);
  });
});

describe('through the gateway', () => {
  it('resolves fields of both subgraphs in one query, our fields through _entities', async () => {
    const result = await viaGateway('{ transfers { id source { id name bucketName } } }', {}, teamA.ownerKey);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      transfers: locationsA.map((location, i) => ({
        id: `transfer-${i}`,
        source: { id: location.id, name: location.name, bucketName: location.bucket_name },
      })),
    });
  });

  it("never resolves another team's location", async () => {
    const result = await viaGateway(
      '{ transfer(id: "foreign-1") { id source { id name bucketName } } }',
      {},
      teamA.ownerKey,
    );
    // Our subgraph answers null for the reference, so the non-null `source` nulls the transfer.
    expect(result.data).toEqual({ transfer: null });
    expect(result.data?.transfer ?? null).toBeNull();
    expect(JSON.stringify(result)).not.toContain(locationB.name);
    // Team B sees its own location through the same gateway.
    const own = await viaGateway(
      '{ transfer(id: "foreign-1") { id source { id name } } }',
      {},
      teamB.ownerKey,
    );
    expect(own.errors).toBeUndefined();
    expect(own.data).toEqual({
      transfer: { id: 'foreign-1', source: { id: locationB.id, name: locationB.name } },
    });
  });

  it('passes our errors on: FORBIDDEN without locations:read, UNAUTHENTICATED without a key', async () => {
    const noLocations = await teamA.keyFor('viewer', ['secrets:read']);
    const forbidden = await viaGateway('{ transfers { id source { name } } }', {}, noLocations);
    expect(forbidden.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    expect(JSON.stringify(forbidden)).not.toContain(locationsA[0].name);

    const anonymous = await viaGateway(
      '{ location(teamId: "00000000-0000-0000-0000-000000000000", id: "00000000-0000-0000-0000-000000000000") { id } }',
    );
    expect(anonymous.errors?.map((e) => e.extensions?.code)).toContain('UNAUTHENTICATED');
  });

  it('runs updateSecret through the gateway, and oneOf inputs still take exactly one key', async () => {
    const UPDATE = `mutation($t: ID!, $s: ID!, $input: UpdateSecretInput!) {
      updateSecret(teamId: $t, secretId: $s, input: $input) {
        __typename
        ... on UpdateSecretSuccess { secret { id name version } changedFields }
        ... on Error { message }
      }
    }`;
    const name = unique('renamed-through-gateway');
    const renamed = await viaGateway(
      UPDATE,
      {
        t: teamA.teamId,
        s: secretA.id,
        input: {
          name,
          value: {
            credentials: { accessKey: { accessKeyId: 'AKIAROTATED', secretAccessKey: 'y'.repeat(30) } },
          },
        },
      },
      teamA.ownerKey,
    );
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data?.updateSecret).toMatchObject({
      __typename: 'UpdateSecretSuccess',
      secret: { id: secretA.id, name },
      changedFields: expect.arrayContaining(['name', 'credentials']),
    });
    const direct = await graphql(t.url, teamA.ownerKey)(
      'query($t: ID!, $id: ID!) { secret(teamId: $t, id: $id) { name } }',
      { t: teamA.teamId, id: secretA.id },
    );
    expect(direct.body.data.secret.name).toBe(name);
    secretA.name = name;

    // Both variants at once: the gateway itself refuses it (its API schema kept @oneOf), nothing changes.
    const both = await viaGateway(
      UPDATE,
      {
        t: teamA.teamId,
        s: secretA.id,
        input: {
          name: unique('never'),
          value: {
            credentials: { accessKey: { accessKeyId: 'AKIABOTH', secretAccessKey: 'z'.repeat(30) } },
            fieldMappings: [],
          },
        },
      },
      teamA.ownerKey,
    );
    expect(both.errors?.[0]?.message).toMatch(
      /Exactly one key must be specified for OneOf type "SecretValueInput"/,
    );
    expect(both.data?.updateSecret ?? null).toBeNull();
    const after = await graphql(t.url, teamA.ownerKey)(
      'query($t: ID!, $id: ID!) { secret(teamId: $t, id: $id) { name } }',
      { t: teamA.teamId, id: secretA.id },
    );
    expect(after.body.data.secret.name).toBe(name);
  });
});

describe('_entities on our subgraph', () => {
  const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
    __typename
    ... on Secret { id name }
    ... on Location { id name }
    ... on VaultConnection { id name }
    ... on Team { id }
  } }`;

  it("resolves the caller's own entities of every kind, and null for another team's", async () => {
    const res = await graphql(t.url, teamA.ownerKey)(ENTITIES, {
      r: [
        { __typename: 'Secret', id: secretA.id },
        { __typename: 'Location', id: locationsA[0].id.toUpperCase() },
        { __typename: 'VaultConnection', id: vaultConnectionA.id },
        { __typename: 'Team', id: teamA.teamId },
        { __typename: 'Location', id: locationB.id },
        { __typename: 'Team', id: teamB.teamId },
        { __typename: 'Secret', id: 'not-a-uuid' },
      ],
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data._entities).toEqual([
      { __typename: 'Secret', id: secretA.id, name: secretA.name },
      { __typename: 'Location', id: locationsA[0].id, name: locationsA[0].name },
      { __typename: 'VaultConnection', id: vaultConnectionA.id, name: vaultConnectionA.name },
      { __typename: 'Team', id: teamA.teamId },
      null,
      null,
      null,
    ]);
  });

  it('needs the read scope of each kind (FORBIDDEN) and a key (UNAUTHENTICATED)', async () => {
    const secretsOnly = await teamA.keyFor('viewer', ['secrets:read']);
    const res = await graphql(t.url, secretsOnly)(ENTITIES, {
      r: [
        { __typename: 'Secret', id: secretA.id },
        { __typename: 'Location', id: locationsA[0].id },
      ],
    });
    expect(res.body.data._entities[0]).toEqual({ __typename: 'Secret', id: secretA.id, name: secretA.name });
    expect(res.body.data._entities[1]).toBeNull();
    expect(res.body.errors).toEqual([
      expect.objectContaining({ path: ['_entities', 1], extensions: { code: 'FORBIDDEN' } }),
    ]);

    const anonymous = await graphql(t.url)(ENTITIES, { r: [{ __typename: 'Secret', id: secretA.id }] });
    expect(anonymous.body.data?._entities ?? null).toBeNull();
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
