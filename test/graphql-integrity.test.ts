import { describe, expect, it } from 'vitest';
import { graphql, rest, useApp } from './support/harness.js';

const t = useApp();

async function secretFor() {
  const team = await t.newTeam();
  const created = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/secrets`, {
    name: 'gql-integrity',
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: { access_key_id: 'AKIA-G1', secret_access_key: 'g1' },
  });
  return { team, id: created.body.id as string, gql: graphql(t.url, team.ownerKey) };
}

const UPDATE = `mutation($t: ID!, $s: ID!, $i: UpdateSecretInput!, $k: String) {
  updateSecret(teamId: $t, secretId: $s, input: $i, idempotencyKey: $k) {
    __typename ... on UpdateSecretSuccess { secret { version name } } ... on ValidationError { issues { path code } }
  } }`;

describe('GraphQL idempotency keys', () => {
  it('returns the first result to a retry without a second write, and refuses the key for other arguments', async () => {
    const { team, id, gql } = await secretFor();
    const vars = { t: team.teamId, s: id, i: { name: 'once' }, k: 'gql-key-1' };
    const first = await gql(UPDATE, vars);
    const again = await gql(UPDATE, vars);
    expect(first.body.data.updateSecret).toEqual({
      __typename: 'UpdateSecretSuccess',
      secret: { version: 2, name: 'once' },
    });
    expect(again.body.data.updateSecret).toEqual(first.body.data.updateSecret);
    const other = await gql(UPDATE, { ...vars, i: { name: 'twice' } });
    expect(other.body.data.updateSecret).toEqual({
      __typename: 'ValidationError',
      issues: [{ path: ['idempotencyKey'], code: 'idempotency_key_reused' }],
    });
    const current = await gql('query($t: ID!, $s: ID!) { secret(teamId: $t, id: $s) { version } }', {
      t: team.teamId,
      s: id,
    });
    expect(current.body.data.secret.version).toBe(2);
  });
});

describe('GraphQL history and rollback', () => {
  it('lists versions and rolls credentials back', async () => {
    const { team, id, gql } = await secretFor();
    await gql(UPDATE, {
      t: team.teamId,
      s: id,
      i: { value: { credentials: { accessKey: { accessKeyId: 'AKIA-G2', secretAccessKey: 'g2' } } } },
    });
    const history = await gql(
      'query($t: ID!, $s: ID!) { secret(teamId: $t, id: $s) { versions(first: 10) { totalCount nodes { version changedFields } } } }',
      { t: team.teamId, s: id },
    );
    expect(history.body.data.secret.versions).toEqual({
      totalCount: 2,
      nodes: [
        { version: 2, changedFields: ['credentials'] },
        { version: 1, changedFields: ['name', 'secret_type', 'auth_method', 'credentials'] },
      ],
    });
    const rolled = await gql(
      `mutation($t: ID!, $s: ID!) { rollbackSecret(teamId: $t, secretId: $s, version: 1) {
        __typename ... on RollbackSecretSuccess { secret { version } } } }`,
      { t: team.teamId, s: id },
    );
    expect(rolled.body.data.rollbackSecret).toEqual({
      __typename: 'RollbackSecretSuccess',
      secret: { version: 3 },
    });
  });
});

describe('GraphQL operation limits', () => {
  it('refuses operations that are too deep, too aliased or too costly, before running them', async () => {
    const { team, gql } = await secretFor();
    const nested = Array.from({ length: 8 }).reduce<string>(
      (inner) => `locations { secret { ${inner} } }`,
      'id',
    );
    const deep = await gql(`query($t: ID!) { secrets(teamId: $t) { nodes { ${nested} } } }`, {
      t: team.teamId,
    });
    expect(deep.body.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX' } });
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: __typename`).join(' ');
    const aliased = await gql(`{ ${aliases} }`);
    expect(aliased.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/aliases/i),
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
    const costly = await gql(
      `query($t: ID!) { secrets(teamId: $t, first: 100) { nodes { versions(first: 100) { nodes { versions: changedFields version createdAt actorUserId } } } } }`,
      { t: team.teamId },
    );
    expect(costly.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/cost/i),
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
    const tokens = await gql(`{ ${'__typename '.repeat(6000)} }`);
    expect(tokens.body.errors?.[0].message).toMatch(/token/i);
    const fine = await gql('query($t: ID!) { secrets(teamId: $t, first: 10) { totalCount } }', {
      t: team.teamId,
    });
    expect(fine.body.data.secrets.totalCount).toBe(1);
  });
});
