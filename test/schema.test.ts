import { readFileSync } from 'node:fs';
import {
  execute,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  parse,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  buildExecutableSchema,
  buildSubgraphSchema,
  FEDERATION_LINK_URL,
  printSubgraphSdl,
} from '../src/app/graphql-schema.js';
import { UnauthenticatedError } from '../src/domain/errors.js';
import type { GraphQLContext } from '../src/platform/graphql/builder.js';

const schema = buildSubgraphSchema();
const sdl = printSubgraphSdl(schema);

/** Federation's own types and fields, described (or not) by @apollo/subgraph, not by us. */
const FEDERATION_TYPES = new Set(['_Service', '_Entity', '_Any', 'link__Import', 'link__Purpose']);
const FEDERATION_QUERY_FIELDS = new Set(['_service', '_entities']);

/** Every type, field, argument, input field and enum value of ours that has no description. */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (FEDERATION_TYPES.has(type.name) || type.name.startsWith('federation__')) continue;
    if (!type.description?.trim()) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (type === schema.getQueryType() && FEDERATION_QUERY_FIELDS.has(field.name)) continue;
        if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
        for (const arg of 'args' in field ? field.args : []) {
          if (!arg.description?.trim()) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) {
        if (!value.description?.trim()) missing.push(`${type.name}.${value.name}`);
      }
    }
  }
  return missing;
}

describe('schema.graphql', () => {
  it('is the printed subgraph schema (run `npm run schema` after changing the GraphQL types)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${sdl}\n`);
  });

  it('keeps @oneOf on every input that takes exactly one variant (federation printing drops it)', () => {
    const oneOf = Object.values(schema.getTypeMap())
      .filter((type) => isInputObjectType(type) && type.isOneOf)
      .map((type) => type.name);
    expect(oneOf).toEqual(
      expect.arrayContaining([
        'SecretValueInput',
        'CredentialsInput',
        'NewSecretValueInput',
        'VaultSettingsInput',
        'RotateVaultConnectionInput',
      ]),
    );
    for (const name of oneOf) expect(sdl, name).toContain(`\ninput ${name} @oneOf {\n`);
    // Only those: no other input is marked.
    expect(sdl.match(/@oneOf/g)).toHaveLength(oneOf.length);
  });

  it('is a federation v2 subgraph with Secret, Location, VaultConnection and Team keyed by id', () => {
    expect(sdl).toContain(`@link(url: "${FEDERATION_LINK_URL}", import: ["@key"])`);
    for (const name of ['Secret', 'Location', 'VaultConnection', 'Team']) {
      expect(sdl, name).toMatch(new RegExp(`\\ntype ${name}\\s+@key\\(fields: "id"\\)\\s*\\{`));
    }
    expect(sdl.match(/@key\(/g)).toHaveLength(4);
  });

  it('describes every type, field, argument, input field and enum value', () => {
    expect(undescribed(schema)).toEqual([]);
  });

  it('says in each partial-update input what omitting and null mean', () => {
    for (const name of ['UpdateSecretInput', 'UpdateLocationInput', 'UpdateVaultConnectionInput']) {
      const type = schema.getType(name);
      if (!isInputObjectType(type)) throw new Error(`${name} is not an input`);
      for (const field of Object.values(type.getFields())) {
        expect(field.description, `${name}.${field.name}`).toMatch(/Omitted/);
      }
    }
  });
});

describe('federation fields behind the door', () => {
  const served = buildExecutableSchema();
  const anonymous = {
    services: {},
    meta: { requestId: 'test', ip: null, userAgent: null },
    actor: () => Promise.reject(new UnauthenticatedError()),
  } as unknown as GraphQLContext;

  it('answers _service { sdl } without a key, with @oneOf kept', async () => {
    const result = await execute({
      schema: served,
      document: parse('{ _service { sdl } }'),
      contextValue: anonymous,
    });
    expect(result.errors).toBeUndefined();
    expect((result.data as { _service: { sdl: string } })._service.sdl).toBe(sdl);
  });

  it('refuses _entities without a key', async () => {
    const result = await execute({
      schema: served,
      document: parse(
        '{ _entities(representations: [{ __typename: "Secret", id: "00000000-0000-0000-0000-000000000000" }]) { __typename } }',
      ),
      contextValue: anonymous,
    });
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
