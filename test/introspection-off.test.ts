import { describe, expect, it } from 'vitest';
import { graphql, type TestApp, useApps } from './support/harness.js';

/** Probes that reveal the schema: misspelled names in every place graphql-js would suggest one. */
const MISSPELLINGS: [string, string, Record<string, unknown>?][] = [
  ['a field', '{ secrts(teamId: "x") { totalCount } }'],
  ['an argument', '{ secrets(teemId: "x") { totalCount } }'],
  ['a type', 'query($f: SecretFiltr) { __typename }'],
  ['an enum literal', '{ secrets(teamId: "x", filter: { secretType: S4 }) { totalCount } }'],
  ['an input field literal', '{ secrets(teamId: "x", filter: { qq: "a" }) { totalCount } }'],
  [
    'an enum variable',
    'query($f: SecretFilter) { secrets(teamId: "00000000-0000-0000-0000-000000000000", filter: $f) { totalCount } }',
    { f: { secretType: 'S4' } },
  ],
  [
    'an input field variable',
    'query($f: SecretFilter) { secrets(teamId: "00000000-0000-0000-0000-000000000000", filter: $f) { totalCount } }',
    { f: { qq: 'a' } },
  ],
];

async function probe(t: TestApp, key?: string) {
  const gql = graphql(t.url, key);
  return Promise.all(MISSPELLINGS.map(([, query, variables]) => gql(query, variables)));
}

describe('GRAPHQL_INTROSPECTION=false', () => {
  const [off, on] = useApps({ env: { GRAPHQL_INTROSPECTION: 'false' } }, {});

  it('serves _service { sdl } only to a valid API key', async () => {
    const team = await off.newTeam();
    const anonymous = await graphql(off.url)('{ _service { sdl } }');
    expect(anonymous.body.data).toBeNull();
    expect(anonymous.body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(anonymous.text).not.toContain('updateSecret');
    const badKey = await graphql(off.url, 'dr_AAAAAAAAAAAA_wrong')('{ _service { sdl } }');
    expect(badKey.body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const gateway = await graphql(off.url, team.ownerKey)('{ _service { sdl } }');
    expect(gateway.body.data._service.sdl).toContain('updateSecret(');
    const schema = await graphql(off.url, team.ownerKey)('{ __schema { types { name } } }');
    expect(schema.body.errors?.[0].message).toMatch(/introspection/i);
  });

  it('gives no "Did you mean" suggestions, with or without a key', async () => {
    const team = await off.newTeam();
    for (const responses of [await probe(off), await probe(off, team.ownerKey)]) {
      responses.forEach((response, i) => {
        expect(response.body.errors?.length, MISSPELLINGS[i]![0]).toBeGreaterThan(0);
        expect(response.text, MISSPELLINGS[i]![0]).not.toMatch(/did you mean/i);
      });
    }
  });

  it('keeps the schema open by default: _service without a key, suggestions on', async () => {
    const anonymous = await graphql(on.url)('{ _service { sdl } }');
    expect(anonymous.body.data._service.sdl).toContain('updateSecret(');
    const responses = await probe(on, (await on.newTeam()).ownerKey);
    responses.forEach((response, i) => {
      expect(response.text, MISSPELLINGS[i]![0]).toMatch(/did you mean/i);
    });
  });
});
