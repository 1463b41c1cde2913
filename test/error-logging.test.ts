/**
 * An unexpected database error is logged by what failed (class, SQLSTATE, table, constraint,
 * column, stack frames), never by the driver's message, which quotes the statement and its values.
 *
 * PostgreSQL is made to refuse a location name carrying a marker (a test-only trigger on the shared
 * test database, matching only this file's marker, removed afterwards), so a real request fails in
 * the database with the request's text in the statement.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autocommit } from '../src/platform/db/unit-of-work.js';
import { describeError } from '../src/platform/logger.js';
import { createLocation, createNativeSecret } from './support/factories.js';
import { rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();
let team: TestTeam;
let locationId: string;
const tag = randomBytes(6).toString('hex');
/** Names starting with it are refused by PostgreSQL, and must never reach a log line. */
const marker = `log-marker-${tag}`;
const trigger = `refuse_log_marker_${tag}`;
const constraint = `log_marker_${tag}`;

async function sql(query: string): Promise<unknown> {
  return t.app.db.orm.em.fork().getConnection().execute(query);
}

beforeAll(async () => {
  team = await t.newTeam();
  const secret = await createNativeSecret(t, team, { name: `logged-${tag}` });
  const location = await createLocation(t, team, secret.id, {
    name: `logged-${tag}`,
    bucket_name: 'my-bucket',
    region: 'eu-west-1',
  });
  locationId = location.id;
  // Fires only for this file's marker: other tests writing locations meanwhile are unaffected.
  await sql(`create function ${trigger}() returns trigger language plpgsql as $$
    begin
      if new.name like '${marker}%' then
        raise exception using errcode = 'check_violation', message = 'refused: ' || new.name,
          detail = 'Failing row contains (' || new.name || ')',
          table = tg_table_name, constraint = '${constraint}', column = 'name';
      end if;
      return new;
    end $$`);
  await sql(`create trigger ${trigger} before insert or update on locations
    for each row execute function ${trigger}()`);
});

afterAll(async () => {
  await sql(`drop trigger if exists ${trigger} on locations`);
  await sql(`drop function if exists ${trigger}()`);
});

function logLine(message: string, requestId: string): Record<string, any> | undefined {
  return t.logs.map((line) => JSON.parse(line)).find((l) => l.msg === message && l.reqId === requestId);
}

/** The line says what failed, and nothing the request sent. */
function expectDescribedWithoutRequestData(line: Record<string, any> | undefined) {
  expect(line).toBeDefined();
  expect(line!.error).toMatchObject({
    type: 'CheckConstraintViolationException',
    code: '23514',
    table: 'locations',
    constraint,
    column: 'name',
  });
  expect(line!.error.stack).toMatch(/^at /);
  for (const key of ['message', 'detail', 'where', 'query', 'sql', 'parameters', 'hint']) {
    expect(line!.error, key).not.toHaveProperty(key);
  }
  expect(JSON.stringify(line)).not.toContain(marker);
  expect(t.logs.join('\n')).not.toContain(marker);
}

describe('an unexpected database error in the log', () => {
  it('REST: a 500 whose log line names the class, SQLSTATE, table and constraint, never the values', async () => {
    const requestId = `db-error-rest-${tag}`;
    const response = await rest(t.url, team.ownerKey)(
      'PATCH',
      `/v1/teams/${team.teamId}/locations/${locationId}`,
      { name: `${marker}-rest` },
      { 'x-request-id': requestId },
    );
    expect(response.status, response.text).toBe(500);
    expect(response.body).toEqual({ detail: 'Internal server error', request_id: requestId });
    expectDescribedWithoutRequestData(logLine('unexpected error', requestId));
  });

  it('GraphQL: the same error is described the same way', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${team.ownerKey}`,
        'x-request-id': `db-error-gql-${tag}`,
      },
      body: JSON.stringify({
        query: `mutation($t: ID!, $l: ID!, $n: String!) {
          updateLocation(teamId: $t, locationId: $l, input: { name: $n }) { __typename }
        }`,
        variables: { t: team.teamId, l: locationId, n: `${marker}-gql` },
      }),
    });
    const body = (await response.json()) as { errors?: any[] };
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    expectDescribedWithoutRequestData(logLine('unexpected GraphQL error', `db-error-gql-${tag}`));
  });

  it('the location keeps its name: the refused writes changed nothing', async () => {
    const read = await rest(t.url, team.ownerKey)('GET', `/v1/teams/${team.teamId}/locations/${locationId}`);
    expect(read.body.name).toBe(`logged-${tag}`);
  });
});

describe('describeError', () => {
  /** The error a statement fails with (PostgreSQL's own messages quote the input too). */
  async function failure(run: () => Promise<unknown>): Promise<unknown> {
    return run().then(
      () => expect.fail('the statement should have failed'),
      (error: unknown) => error,
    );
  }

  it("the driver's error, also as the ORM's connection words it: SQLSTATE and routine, never the value", async () => {
    const value = `${marker}-uuid`;
    const driver = await failure(() => autocommit(t.app.db.orm)('select $1::uuid', [value]));
    const orm = await failure(() =>
      t.app.db.orm.em.fork().getConnection().execute('select ?::uuid', [value]),
    );
    for (const error of [driver, orm]) {
      expect(String((error as Error).message)).toContain(value);
      const described = describeError(error);
      expect(described).toMatchObject({ code: '22P02', routine: expect.any(String) });
      expect(JSON.stringify(described)).not.toContain(marker);
    }
    expect(describeError(driver).type).toBe('DatabaseError');
  });

  it('describes the cause chain alike, and keeps message lines that look like frames out', async () => {
    const driver = await failure(() => autocommit(t.app.db.orm)('select $1::int', [`${marker}-int`]));
    const wrapped = new Error(`could not read ${marker}\n    at ${marker} (file.js:1:1)`, { cause: driver });
    const described = describeError(wrapped);
    expect(described).toMatchObject({ type: 'Error', cause: { type: 'DatabaseError', code: '22P02' } });
    expect(described.stack).toMatch(/^at /);
    expect(JSON.stringify(described)).not.toContain(marker);
  });
});
