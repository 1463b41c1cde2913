import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { UpdateSecretCommand } from '../src/modules/secrets/secret.rules.js';
import { graphql, recordSql, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();
let team: TestTeam;
beforeAll(async () => {
  team = await t.newTeam();
});

async function newSecret(name: string): Promise<string> {
  const created = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/secrets`, {
    name,
    description: 'to be cleared',
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: { access_key_id: 'AKIA-CMD', secret_access_key: 'initial' },
  });
  expect(created.status, created.text).toBe(201);
  return created.body.id;
}

/** The command each call of `SecretService.update` received while `work` ran. */
async function commandsOf(work: () => Promise<unknown>): Promise<UpdateSecretCommand[]> {
  const spy = vi.spyOn(t.app.services.secrets, 'update');
  try {
    await work();
    return spy.mock.calls.map((call) => call[3]);
  } finally {
    spy.mockRestore();
  }
}

describe('updateSecret: one typed command from both doors, applied as a unit of work', () => {
  it('REST PATCH and GraphQL updateSecret hand the service the same command', async () => {
    const [restId, graphqlId] = [await newSecret('cmd-rest'), await newSecret('cmd-graphql')];
    const viaRest = await commandsOf(async () => {
      const response = await rest(t.url, team.ownerKey)(
        'PATCH',
        `/v1/teams/${team.teamId}/secrets/${restId}`,
        {
          name: 'cmd-renamed-1',
          description: null,
          secret_type: 'r2',
          auth_method: 'r2_access_key',
          credentials: { access_key_id: 'AKIA-NEW', secret_access_key: 'rotated' },
        },
      );
      expect(response.status, response.text).toBe(200);
    });
    const viaGraphql = await commandsOf(async () => {
      const response = await graphql(t.url, team.ownerKey)(
        `mutation($t: ID!, $s: ID!) { updateSecret(teamId: $t, secretId: $s, input: {
          name: "cmd-renamed-2", description: null, secretType: R2, authMethod: R2_ACCESS_KEY,
          value: { credentials: { accessKey: { accessKeyId: "AKIA-NEW", secretAccessKey: "rotated" } } }
        }) { __typename } }`,
        { t: team.teamId, s: graphqlId },
      );
      expect(response.body.data?.updateSecret.__typename, response.text).toBe('UpdateSecretSuccess');
    });
    const expected: UpdateSecretCommand = {
      description: null,
      secretType: 'r2',
      authMethod: 'r2_access_key',
      value: { credentials: { access_key_id: 'AKIA-NEW', secret_access_key: 'rotated' } },
    };
    expect(viaRest).toEqual([{ ...expected, name: 'cmd-renamed-1' }]);
    expect(viaGraphql).toEqual([{ ...expected, name: 'cmd-renamed-2' }]);
  });

  it('an omitted field is absent from the command on both doors (only `description: null` clears)', async () => {
    const id = await newSecret('cmd-partial');
    const viaRest = await commandsOf(() =>
      rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${id}`, {
        name: null,
        secret_type: null,
      }),
    );
    const viaGraphql = await commandsOf(() =>
      graphql(t.url, team.ownerKey)(
        'mutation($t: ID!, $s: ID!) { updateSecret(teamId: $t, secretId: $s, input: { name: null }) { __typename } }',
        { t: team.teamId, s: id },
      ),
    );
    expect(viaRest).toEqual([{}]);
    expect(viaGraphql).toEqual([{}]);
  });

  it('a rename is one unit of work: the version-checked update, then its history entry and audit event, one transaction', async () => {
    const id = await newSecret('cmd-flush');
    const statements = (
      await recordSql(t, async () => {
        const response = await rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${id}`, {
          name: 'cmd-flushed',
        });
        expect(response.status, response.text).toBe(200);
      })
    ).queries;
    const shape = statements
      .map((s) => s.trim().toLowerCase())
      .filter((s) => !s.startsWith('select k.id')) // the API key lookup (no auth cache in tests)
      .map((s) =>
        s.startsWith('select')
          ? 'select'
          : (/^(begin|commit|insert into "\w+"|update "\w+")/.exec(s)?.[0] ?? s.slice(0, 40)),
      );
    // The ORM orders the two inserts; both come after the update, which holds the row lock from then on.
    expect([...shape.slice(0, 3), ...shape.slice(3, 5).sort(), ...shape.slice(5)]).toEqual([
      'begin',
      'select',
      'update "secrets"',
      'insert into "audit_events"',
      'insert into "secret_versions"',
      'commit',
    ]);
    const update = statements.find((s) => /^update "secrets"/i.test(s.trim()))!;
    expect(update).toMatch(/"version" = "version" \+ 1/);
    expect(update).toMatch(/where "id" = .* and "version" = /);
  });
});
