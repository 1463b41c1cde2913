/**
 * The Hive Gateway recipe (examples/hive-gateway/), run as its README says: the example's compose.ts
 * writes the supergraph from the real server's `_service { sdl }`, and the real `hive-gateway supergraph`
 * CLI, started in the example's directory, loads its gateway.config.ts. The gateway checks variables
 * against the supergraph before our subgraph sees a request, and graphql-js quotes a bad value in its
 * error: the recipe's plugin must keep such values (credentials) out of the gateway's answers, and leave
 * everything else as our server answers it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unique } from './support/constants.js';
import { createNativeSecret } from './support/factories.js';
import { graphql, type TestTeam, useApp } from './support/harness.js';
import { composeSupergraph, example, type Gateway, startGateway } from './support/hive-gateway.js';

/** Every gateway process started, stopped after the tests (also one whose start failed). */
const gateways: Gateway[] = [];

/** A body that is not JSON, sent as is (the request pipeline's own error). */
async function postRaw(baseUrl: string, body: string) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), text };
}

const UPDATE = /* GraphQL */ `
  mutation Update($teamId: ID!, $secretId: ID!, $input: UpdateSecretInput!, $dryRun: Boolean) {
    updateSecret(teamId: $teamId, secretId: $secretId, input: $input, dryRun: $dryRun) {
      __typename
      ... on UpdateSecretSuccess {
        secret { id name description version secretType authMethod storage viewerCanUpdate }
        changedFields
        dryRun
      }
      ... on ValidationError { message issues { path message code } }
      ... on Error { message }
    }
  }
`;

const CREATE = /* GraphQL */ `
  mutation Create($teamId: ID!, $input: CreateSecretInput!) {
    createSecret(teamId: $teamId, input: $input) {
      __typename
      ... on CreateSecretSuccess { secret { id } }
      ... on Error { message }
    }
  }
`;

const READ = 'query($teamId: ID!, $id: ID!) { secret(teamId: $teamId, id: $id) { name version } }';

/** A credential-looking value that must never come back; a number where the schema wants a string. */
const canary = `CANARY${randomBytes(12).toString('hex')}`;
const numericCanary = 7391826455013;

const t = useApp();
let team: TestTeam;
let secret: { id: string; name: string };
let otherSecret: { id: string; name: string };
let workDir: string;
let supergraph: string;
let gateway: Gateway;
let unprotected: Gateway;

/** Requests the gateway must refuse without quoting a value, in every phase that can refuse them. */
function badRequests() {
  const update = (value: unknown) => ({
    query: UPDATE,
    variables: { teamId: team.teamId, secretId: secret.id, input: { name: unique('never'), value } },
  });
  return {
    'an unknown field beside a credential (variables)': update({
      credentials: { accessKey: { accessKeyId: 'AKIABAD', secretAccessKey: canary, sessionToken: canary } },
    }),
    'a number as a credential (variables)': update({
      credentials: { accessKey: { accessKeyId: 'AKIABAD', secretAccessKey: numericCanary } },
    }),
    'two credential variants of a oneOf (variables)': {
      query: CREATE,
      variables: {
        teamId: team.teamId,
        input: {
          name: unique('never'),
          secretType: 'S3',
          authMethod: 'S3_ACCESS_KEY',
          value: {
            credentials: {
              accessKey: { accessKeyId: 'AKIABAD', secretAccessKey: canary },
              azureSasUrl: { sasUrl: `https://acct.blob.core.windows.net/?sig=${canary}` },
            },
          },
        },
      },
    },
    'a number as a credential (a literal: validation)': {
      query: `mutation { updateSecret(teamId: "${team.teamId}", secretId: "${secret.id}", input: {
        value: { credentials: { accessKey: { accessKeyId: "AKIABAD", secretAccessKey: ${numericCanary} } } }
      }) { __typename } }`,
      variables: {},
    },
  };
}

const leaks = (text: string) => text.includes(canary) || text.includes(String(numericCanary));

beforeAll(async () => {
  team = await t.newTeam();
  const credentials = { access_key_id: 'AKIAGATEWAY', secret_access_key: 'x'.repeat(30) };
  secret = await createNativeSecret(t, team, { name: unique('gw-secret'), credentials });
  otherSecret = await createNativeSecret(t, team, { name: unique('gw-secret'), credentials });
  workDir = await mkdtemp(path.join(tmpdir(), 'hive-gateway-'));
  supergraph = path.join(workDir, 'supergraph.graphql');

  // As the README runs it: from the example's directory, the key in the environment.
  await composeSupergraph(`${t.url}/graphql`, team.ownerKey, supergraph);
  expect(await readFile(supergraph, 'utf8')).toMatch(
    /input SecretValueInput @join__type\(graph: SECRETS\) @oneOf/,
  );

  // The same gateway without the plugin: the recipe's config with `plugins` taken out.
  const withoutPlugin = path.join(workDir, 'without-plugin.config.mjs');
  await writeFile(
    withoutPlugin,
    `import { gatewayConfig as recipe } from ${JSON.stringify(pathToFileURL(path.join(example, 'gateway.config.ts')).href)};\n` +
      'export const gatewayConfig = { ...recipe, plugins: undefined };\n',
  );
  const started = (one: Gateway) => gateways.push(one);
  [gateway, unprotected] = await Promise.all([
    startGateway(supergraph, started),
    startGateway(supergraph, started, withoutPlugin),
  ]);
});

afterAll(async () => {
  await Promise.all(gateways.map((one) => one.stop()));
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('a bad credentials value, refused by the gateway before our subgraph sees it', () => {
  it('is refused without its value, with the answer our server gives directly', async () => {
    for (const [name, request] of Object.entries(badRequests())) {
      const through = await graphql(gateway.url, team.ownerKey)(request.query, request.variables);
      const direct = await graphql(t.url, team.ownerKey)(request.query, request.variables);
      expect(leaks(through.text), `${name}: ${through.text}`).toBe(false);
      expect(through.body.errors?.length, name).toBeGreaterThan(0);
      expect(through.body.data?.updateSecret ?? through.body.data?.createSecret ?? null, name).toBeNull();
      expect({ status: through.status, body: through.body }, name).toEqual({
        status: direct.status,
        body: direct.body,
      });
    }
    const notJson = `{"query": "{ __typename }", "variables": {"key": "${canary}" ]}`;
    const through = await postRaw(gateway.url, notJson);
    expect(leaks(through.text), through.text).toBe(false);
    expect(through).toEqual({ ...(await postRaw(t.url, notJson)), text: through.text });
    expect(through.body.errors[0].message).toBe('POST body sent invalid JSON.');

    expect(leaks(gateway.output())).toBe(false);
    const after = await graphql(t.url, team.ownerKey)(READ, { teamId: team.teamId, id: secret.id });
    expect(after.body.data.secret.name).toBe(secret.name);
  });

  it('names the field and the reason', async () => {
    const requests = badRequests();
    const refused = async (name: keyof typeof requests) => {
      const { query, variables } = requests[name];
      const res = await graphql(gateway.url, team.ownerKey)(query, variables);
      return res.body.errors?.map((error: { message: string }) => error.message);
    };
    expect(await refused('an unknown field beside a credential (variables)')).toEqual([
      'Variable "$input" got an invalid value at "input.value.credentials.accessKey"; Field "sessionToken" is not defined by type "AccessKeyCredentialsInput".',
    ]);
    expect(await refused('a number as a credential (variables)')).toEqual([
      'Variable "$input" got an invalid value at "input.value.credentials.accessKey.secretAccessKey"; String cannot represent a non string value.',
    ]);
    expect(await refused('two credential variants of a oneOf (variables)')).toEqual([
      'Variable "$input" got an invalid value at "input.value.credentials"; Exactly one key must be specified for OneOf type "CredentialsInput".',
    ]);
    expect(await refused('a number as a credential (a literal: validation)')).toEqual([
      'String cannot represent a non string value.',
    ]);
  });

  it('leaks through the same gateway without the plugin (why the recipe has it)', async () => {
    for (const [name, request] of Object.entries(badRequests())) {
      const through = await graphql(unprotected.url, team.ownerKey)(request.query, request.variables);
      expect(leaks(through.text), `${name}: ${through.text}`).toBe(true);
    }
    const notJson = await postRaw(
      unprotected.url,
      `{"query": "{ __typename }", "variables": {"key": "${canary}" ]}`,
    );
    expect(leaks(notJson.text), notJson.text).toBe(true);
  });
});

describe('everything else passes through unchanged', () => {
  it('answers a valid dry run as our server does, and applies an update with the caller’s key', async () => {
    const input = {
      name: unique('rotated'),
      value: { credentials: { accessKey: { accessKeyId: 'AKIAROTATED', secretAccessKey: 'y'.repeat(30) } } },
    };
    const variables = { teamId: team.teamId, secretId: secret.id, input, dryRun: true };
    const through = await graphql(gateway.url, team.ownerKey)(UPDATE, variables);
    const direct = await graphql(t.url, team.ownerKey)(UPDATE, variables);
    expect(through.body.data.updateSecret).toMatchObject({
      __typename: 'UpdateSecretSuccess',
      dryRun: true,
      changedFields: expect.arrayContaining(['name', 'credentials']),
    });
    expect({ status: through.status, body: through.body }).toEqual({
      status: direct.status,
      body: direct.body,
    });

    const applied = await graphql(gateway.url, team.ownerKey)(UPDATE, { ...variables, dryRun: false });
    expect(applied.body.errors).toBeUndefined();
    // What the dry run said it would do, done.
    expect(applied.body.data.updateSecret).toEqual({ ...direct.body.data.updateSecret, dryRun: false });
    const after = await graphql(t.url, team.ownerKey)(READ, { teamId: team.teamId, id: secret.id });
    expect(after.body.data.secret).toEqual({
      name: input.name,
      version: applied.body.data.updateSecret.secret.version,
    });
    secret.name = input.name;
  });

  it('still refuses both variants of SecretValueInput (@oneOf), and nothing changes', async () => {
    const before = await graphql(t.url, team.ownerKey)(READ, { teamId: team.teamId, id: secret.id });
    const both = await graphql(gateway.url, team.ownerKey)(UPDATE, {
      teamId: team.teamId,
      secretId: secret.id,
      input: {
        name: unique('never'),
        value: {
          credentials: { accessKey: { accessKeyId: 'AKIABOTH', secretAccessKey: canary } },
          fieldMappings: [],
        },
      },
    });
    expect(both.body.errors?.map((error: { message: string }) => error.message)).toEqual([
      'Variable "$input" got an invalid value at "input.value"; Exactly one key must be specified for OneOf type "SecretValueInput".',
    ]);
    expect(leaks(both.text)).toBe(false);
    const after = await graphql(t.url, team.ownerKey)(READ, { teamId: team.teamId, id: secret.id });
    expect(after.body.data.secret).toEqual(before.body.data.secret);
  });

  it('passes result-union errors on as our server answers them: ConflictError, ValidationError', async () => {
    const cases = {
      ConflictError: { name: otherSecret.name },
      ValidationError: {
        value: { credentials: { accessKey: { accessKeyId: '', secretAccessKey: canary } } },
      },
    };
    for (const [typename, input] of Object.entries(cases)) {
      const variables = { teamId: team.teamId, secretId: secret.id, input };
      const through = await graphql(gateway.url, team.ownerKey)(UPDATE, variables);
      const direct = await graphql(t.url, team.ownerKey)(UPDATE, variables);
      expect(through.body.data?.updateSecret?.__typename, through.text).toBe(typename);
      expect({ status: through.status, body: through.body }).toEqual({
        status: direct.status,
        body: direct.body,
      });
      expect(leaks(through.text)).toBe(false);
    }
  });

  it('forwards only the caller’s key: without one our subgraph answers UNAUTHENTICATED', async () => {
    const anonymous = await graphql(gateway.url)(READ, { teamId: team.teamId, id: secret.id });
    expect(
      anonymous.body.errors?.map((error: { extensions?: { code?: string } }) => error.extensions?.code),
    ).toEqual(['UNAUTHENTICATED']);
    expect(anonymous.body.data?.secret ?? null).toBeNull();
  });
});
