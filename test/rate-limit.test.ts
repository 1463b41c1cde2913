import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, rest, startTestApp, type TestApp } from './support/harness.js';

describe('rate limits per API key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '3' });
  });
  afterAll(() => t.close());

  it('answers 429 with Retry-After once a key exceeds its limit, on both doors; other keys are unaffected', async () => {
    const team = await t.newTeam();
    const call = rest(t.url, team.ownerKey);
    const path = `/v1/teams/${team.teamId}/secrets/00000000-0000-4000-8000-000000000000`;
    const first = await call('GET', path);
    expect(first.status).toBe(404);
    expect(first.headers.get('x-ratelimit-limit')).toBe('3');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    await call('GET', path);
    await call('GET', path);
    const limited = await call('GET', path);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body).toMatchObject({
      error: 'Rate limit exceeded',
      detail: expect.stringContaining('3'),
    });

    const gql = await graphql(t.url, team.ownerKey)('{ __typename }');
    expect(gql.status).toBe(429);

    const other = await t.newTeam();
    expect((await rest(t.url, other.ownerKey)('GET', `/v1/teams/${other.teamId}/secrets`)).status).toBe(200);
  });
});

describe('rate limits per client IP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_IP_PER_MINUTE: '2' });
  });
  afterAll(() => t.close());

  it('limits unauthenticated and authenticated requests from one IP alike', async () => {
    const call = rest(t.url);
    expect((await call('GET', '/v1/teams/x/secrets')).status).toBe(401);
    expect((await call('GET', '/v1/teams/x/secrets')).status).toBe(401);
    const limited = await call('GET', '/v1/teams/x/secrets');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
