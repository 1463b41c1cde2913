import { beforeAll, describe, expect, it } from 'vitest';
import { graphql, useApp } from './support/harness.js';

const t = useApp();
let anonymous: ReturnType<typeof graphql>;
beforeAll(async () => {
  anonymous = graphql(t.url);
});

const PLAIN = '{ __typename }';

/** Milliseconds an anonymous request takes, start to parsed answer. */
async function timed(query: string, variables?: Record<string, unknown>) {
  const started = performance.now();
  const response = await anonymous(query, variables);
  return { response, ms: performance.now() - started };
}

/** Each fragment spreads the next one twice: 2^levels uses of the last one, from about 40 bytes a level. */
function fanOut(levels: number, leaf: string): string {
  const fragments = Array.from({ length: levels }, (_, i) =>
    i + 1 < levels
      ? `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`
      : `fragment F${i} on Query { ${leaf} }`,
  );
  return `{ ...F0 } ${fragments.join(' ')}`;
}

const HOSTILE: [string, string, 'too complex' | 'invalid' | 'answered'][] = [
  ['a 2^24 fragment fan-out', fanOut(24, '__typename'), 'too complex'],
  ['a 2^24 fragment fan-out of aliases', fanOut(24, 'a: __typename'), 'too complex'],
  [
    'a 2^24 fragment fan-out of a deep selection',
    fanOut(24, 'secrets(teamId: "x") { nodes { locations { secret { id } } } }'),
    'too complex',
  ],
  [
    'a chain of 100 fragments',
    `{ ...C0 } ${Array.from({ length: 100 }, (_, i) => `fragment C${i} on Query { __typename ${i < 99 ? `...C${i + 1}` : ''} }`).join(' ')}`,
    'answered',
  ],
  [
    'one wide fragment used once',
    `{ ...W } fragment W on Query { ${'__typename '.repeat(4900)} }`,
    'invalid',
  ],
  ['4,900 fields of one name', `{ ${'__typename '.repeat(4900)} }`, 'invalid'],
  [
    'a chain of 101 fragments',
    `{ ...C0 } ${Array.from({ length: 101 }, (_, i) => `fragment C${i} on Query { __typename ${i < 100 ? `...C${i + 1}` : ''} }`).join(' ')}`,
    'too complex',
  ],
  [
    '600 fragments spread side by side',
    `{ ${Array.from({ length: 600 }, (_, i) => `...S${i}`).join(' ')} } ${Array.from({ length: 600 }, (_, i) => `fragment S${i} on Query { __typename }`).join(' ')}`,
    'too complex',
  ],
  ['1,200 nested inline fragments', `{ ${'... { __typename '.repeat(1200)}${'}'.repeat(1200)} }`, 'invalid'],
  [
    'a field with 1,600 unknown arguments',
    `{ __type(${Array.from({ length: 1600 }, (_, i) => `a${i}: 1`).join(' ')}) { name } }`,
    'invalid',
  ],
  ['60 directives', `{ __typename ${'@skip(if: false) '.repeat(60)} }`, 'too complex'],
];

describe('GraphQL operation limits (GraphQL Armor)', () => {
  it('refuses or answers each hostile shape in bounded time, while a request beside it is served promptly', async () => {
    // The same small request alone, a few times: what "promptly" is measured against.
    const alone: number[] = [];
    for (let i = 0; i < 7; i++) alone.push((await timed(PLAIN)).ms);
    const typical = alone.sort((a, b) => a - b)[3]!;
    // Generous for a shared 2-core machine; an exponential walk takes seconds to minutes here.
    const bound = Math.max(200 * typical, 250);

    for (const [shape, query, outcome] of HOSTILE) {
      const [hostile, beside] = await Promise.all([timed(query), timed(PLAIN)]);
      expect({ shape, hostile: hostile.ms < bound, beside: beside.ms < bound }).toEqual({
        shape,
        hostile: true,
        beside: true,
      });
      if (outcome === 'too complex') {
        expect(hostile.response.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
      } else if (outcome === 'invalid') {
        expect(hostile.response.body.errors?.length).toBeGreaterThan(0);
        expect(hostile.response.body.data).toBeUndefined();
      } else {
        expect(hostile.response.body.errors, shape).toBeUndefined();
        expect(hostile.response.body.data.__typename).toBe('Query');
      }
      expect(beside.response.body.data).toEqual({ __typename: 'Query' });
    }
  });

  it('runs one of 500 operations in a document, and refuses a document over the token limit', async () => {
    const operations = Array.from({ length: 500 }, (_, i) => `query Q${i} { __typename }`).join(' ');
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: operations, operationName: 'Q499' }),
    });
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });

    const tooLong = await anonymous(`{ ${'__typename '.repeat(6000)} }`);
    expect(tooLong.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/token limit of 5000/i),
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
  });

  it('prices a page size given as a variable by its value', async () => {
    const team = await t.newTeam();
    const gql = graphql(t.url, team.ownerKey);
    const query = `query($t: ID!, $n: Int, $m: Int) { secrets(teamId: $t, first: $n) { nodes {
      versions(first: $m) { nodes { a: version b: version c: version d: version e: version f: version } } } } }`;
    const small = await gql(query, { t: team.teamId, n: 5, m: 5 });
    expect(small.body.errors).toBeUndefined();
    const large = await gql(query, { t: team.teamId, n: 100, m: 100 });
    expect(large.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/cost limit of 20000/i),
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
    expect(large.body.data).toBeUndefined();
  });
});
