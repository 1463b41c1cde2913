/**
 * API keys and the audit log as the issue-12 design draws them: one typed command from both doors,
 * ids validated (and lower-cased) at the door, plain views out of the services, and every statement
 * of ours (authentication, last use, idempotency keys, rate limits) in the pg driver's `$1` style.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { CreateApiKeyCommand } from '../src/modules/api-keys/api-key.rules.js';
import { RateLimiter } from '../src/platform/http/rate-limit.js';
import { createLogger } from '../src/platform/logger.js';
import { graphql, recordSql, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();
let team: TestTeam;
beforeAll(async () => {
  team = await t.newTeam();
});

const keysPath = (teamId: string) => `/v1/teams/${teamId}/api-keys`;

async function createKey(name: string): Promise<{ id: string; full_key: string; key_id: string }> {
  const created = await rest(t.url, team.ownerKey)('POST', keysPath(team.teamId), {
    name,
    scopes: ['secrets:read'],
  });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

/** The calls (arguments and results) a service method got while `work` ran. */
async function callsOf<S extends object, M extends keyof S & string>(
  service: S,
  method: M,
  work: () => Promise<unknown>,
): Promise<{ args: unknown[]; result: unknown }[]> {
  const spy = vi.spyOn(service, method as never) as unknown as MockInstance;
  try {
    await work();
    return await Promise.all(
      spy.mock.calls.map(async (args, i) => ({
        args,
        result: await (spy.mock.results[i]!.value as Promise<unknown>).catch((error: unknown) => error),
      })),
    );
  } finally {
    spy.mockRestore();
  }
}

const isPlain = (value: unknown) =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

describe('commands and ids from both doors', () => {
  it('REST POST and GraphQL createApiKey hand the service the same command and the lower-cased team id', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000);
    const upperTeam = team.teamId.toUpperCase();
    const viaRest = await callsOf(t.app.services.apiKeys, 'create', async () => {
      const response = await rest(t.url, team.ownerKey)('POST', keysPath(upperTeam), {
        name: 'cmd-key',
        scopes: ['secrets:read', 'secrets:read'],
        expires_at: expiresAt.toISOString(),
      });
      expect(response.status, response.text).toBe(201);
    });
    const viaGraphql = await callsOf(t.app.services.apiKeys, 'create', async () => {
      const response = await graphql(t.url, team.ownerKey)(
        `mutation($t: ID!, $i: CreateApiKeyInput!) { createApiKey(teamId: $t, input: $i) { __typename } }`,
        { t: upperTeam, i: { name: 'cmd-key', scopes: ['secrets:read', 'secrets:read'], expiresAt } },
      );
      expect(response.body.data?.createApiKey.__typename, response.text).toBe('CreateApiKeySuccess');
    });
    const expected: CreateApiKeyCommand = {
      name: 'cmd-key',
      scopes: ['secrets:read', 'secrets:read'],
      expiresAt,
    };
    for (const calls of [viaRest, viaGraphql]) {
      expect(calls.map((c) => c.args.slice(2))).toEqual([[team.teamId, expected]]);
    }
  });

  it('get, rotate, revoke and delete take the key as validated ids on both doors', async () => {
    const service = t.app.services.apiKeys;
    const gql = graphql(t.url, team.ownerKey);
    const expectIds = (calls: { args: unknown[] }[], at: number, apiKeyId: string) =>
      expect(calls.map((c) => c.args[at])).toEqual([{ teamId: team.teamId, apiKeyId }]);
    for (const door of ['rest', 'graphql'] as const) {
      const { id } = await createKey(`ids-${door}`);
      const [upperTeam, upperId] = [team.teamId.toUpperCase(), id.toUpperCase()];
      const path = `${keysPath(upperTeam)}/${upperId}`;
      const call = (mutation: string) =>
        gql(`mutation($t: ID!, $id: ID!) { ${mutation}(teamId: $t, id: $id) { __typename } }`, {
          t: upperTeam,
          id: upperId,
        });
      const steps: [string, number, () => Promise<unknown>, () => Promise<unknown>][] = [
        [
          'get',
          1,
          () => rest(t.url, team.ownerKey)('GET', path),
          () =>
            gql('query($t: ID!, $id: ID!) { apiKey(teamId: $t, id: $id) { id } }', {
              t: upperTeam,
              id: upperId,
            }),
        ],
        [
          'rotate',
          2,
          () => rest(t.url, team.ownerKey)('POST', `${path}/rotate`, {}),
          () => call('rotateApiKey'),
        ],
        [
          'revoke',
          2,
          () => rest(t.url, team.ownerKey)('POST', `${path}/revoke`, {}),
          () => call('revokeApiKey'),
        ],
        ['delete', 2, () => rest(t.url, team.ownerKey)('DELETE', path), () => call('deleteApiKey')],
      ];
      for (const [method, at, viaRest, viaGraphql] of steps) {
        const calls = await callsOf(service, method as 'get', door === 'rest' ? viaRest : viaGraphql);
        expectIds(calls, at, id);
      }
    }
  });

  it('the GraphQL lists hand their services the lower-cased team id', async () => {
    const upperTeam = team.teamId.toUpperCase();
    const keys = await callsOf(t.app.services.apiKeys, 'list', () =>
      graphql(t.url, team.ownerKey)('query($t: ID!) { apiKeys(teamId: $t) { totalCount } }', {
        t: upperTeam,
      }),
    );
    const events = await callsOf(t.app.services.audit, 'list', () =>
      graphql(t.url, team.ownerKey)('query($t: ID!) { auditEvents(teamId: $t) { totalCount } }', {
        t: upperTeam,
      }),
    );
    expect(keys.map((c) => c.args[1])).toEqual([team.teamId]);
    expect(events.map((c) => c.args[1])).toEqual([team.teamId]);
  });
});

describe('views, not entities, leave the services', () => {
  it('every API key and audit use case returns plain data, never the secret hash', async () => {
    const service = t.app.services.apiKeys;
    const owner = rest(t.url, team.ownerKey);
    const created = await callsOf(service, 'create', () =>
      owner('POST', keysPath(team.teamId), { name: 'view-key', scopes: ['secrets:read'] }),
    );
    const issued = created[0]!.result as { apiKey: unknown; fullKey: string };
    const id = (issued.apiKey as { id: string }).id;
    const path = `${keysPath(team.teamId)}/${id}`;
    const results = [
      issued,
      issued.apiKey,
      (await callsOf(service, 'get', () => owner('GET', path)))[0]!.result,
      (await callsOf(service, 'rotate', () => owner('POST', `${path}/rotate`)))[0]!.result,
      (await callsOf(service, 'revoke', () => owner('POST', `${path}/revoke`)))[0]!.result,
      ...(
        (await callsOf(service, 'list', () => owner('GET', keysPath(team.teamId))))[0]!.result as {
          items: unknown[];
        }
      ).items,
      ...(
        (
          await callsOf(t.app.services.audit, 'list', () =>
            owner('GET', `/v1/teams/${team.teamId}/audit-logs`),
          )
        )[0]!.result as { items: unknown[] }
      ).items,
    ];
    expect(results.length).toBeGreaterThan(6);
    for (const result of results) {
      expect(isPlain(result), JSON.stringify(result)).toBe(true);
      expect(Object.keys(result as object)).not.toContain('secretHash');
    }
  });
});

describe('our SQL: the driver’s $1 placeholders, never values in the statement text', () => {
  const placeholdersOnly = (statements: string[], value: string) => {
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement).toMatch(/\$1\b/);
      expect(statement).not.toContain(value);
      expect(statement).not.toMatch(/\?/);
    }
  };

  it('authentication is one statement; the last-use flush is one statement', async () => {
    const { key_id: keyId, full_key: fullKey } = await createKey('sql-auth');
    const service = t.app.services.apiKeys;
    await service.flushLastUsed();
    // The test app runs without the auth cache: every authentication asks the database.
    const authentication = (await recordSql(t, () => service.authenticate(`Bearer ${fullKey}`))).queries;
    expect(authentication).toHaveLength(1);
    placeholdersOnly(authentication, keyId);
    const flush = (await recordSql(t, () => service.flushLastUsed())).queries;
    expect(flush).toHaveLength(1);
    placeholdersOnly(flush, keyId);
  });

  it('idempotency keys: claim, mark, store and replay', async () => {
    const { id } = await createKey('sql-idempotency');
    const idempotencyKey = `idem-${randomUUID()}`;
    const revoke = () =>
      rest(t.url, team.ownerKey)(
        'POST',
        `${keysPath(team.teamId)}/${id}/revoke`,
        {},
        {
          'idempotency-key': idempotencyKey,
        },
      );
    const statements = (
      await recordSql(t, async () => {
        expect((await revoke()).status).toBe(200);
        const replay = await revoke();
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
      })
    ).queries;
    const ours = statements.filter((s) => s.includes('idempotency_keys'));
    // Claim, mark committed, store; then the replay's claim attempt and read.
    expect(ours.length).toBeGreaterThanOrEqual(5);
    placeholdersOnly(ours, idempotencyKey);
  });

  it('rate limits: the lease (and the sweep of old windows, when it has finished)', async () => {
    const limiter = new RateLimiter(100, t.app.db.orm, createLogger('silent'));
    const bucket = `key:${randomUUID()}`;
    const statements = (await recordSql(t, () => limiter.hit(bucket, Date.UTC(2020, 0, 1, 12)))).queries;
    // The sweep is not awaited: it may or may not have been logged by now.
    expect(statements.filter((s) => /^\s*insert into rate_limits/.test(s))).toHaveLength(1);
    placeholdersOnly(statements, bucket);
  });
});
