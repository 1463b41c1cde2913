import { describe, expect, it } from 'vitest';
import { newTeamWithSecret } from './support/factories.js';
import { graphql, rest, useApp } from './support/harness.js';

const t = useApp();

describe('smoke', () => {
  it('creates and renames a secret over REST and GraphQL', async () => {
    const { team, api, secret, path } = await newTeamWithSecret(t, {
      name: 'prod-s3',
      credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'very-secret-value' },
    });
    const renamed = await api('PATCH', path, { name: 'prod-s3-b' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('prod-s3-b');
    const gql = await graphql(t.url, team.ownerKey)(
      `mutation($t: ID!, $s: ID!) { updateSecret(teamId: $t, secretId: $s, input: { name: "prod-s3-c" }) {
        __typename ... on UpdateSecretSuccess { secret { name version } } } }`,
      { t: team.teamId, s: secret.id },
    );
    expect(gql.body.data.updateSecret).toEqual({
      __typename: 'UpdateSecretSuccess',
      secret: { name: 'prod-s3-c', version: 3 },
    });
    const viewer = await team.keyFor('viewer', ['secrets:read', 'secrets:update']);
    const denied = await rest(t.url, viewer)('PATCH', path, {
      name: 'x',
    });
    expect(denied.status).toBe(403);
  });
});
