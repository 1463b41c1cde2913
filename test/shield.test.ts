import { type GraphQLObjectType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildExecutableSchema, buildSubgraphSchema } from '../src/app/graphql-schema.js';
import { SCOPE_MIN_ROLE } from '../src/domain/scopes.js';
import { ROOT_FIELD_SCOPES, withShield } from '../src/platform/graphql/shield.js';

const schema = buildExecutableSchema();
const FEDERATION_FIELDS = ['_entities', '_service'];

describe('graphql-shield at the GraphQL door', () => {
  it('has a scope for every root field but the federation ones, each a scope of the scope table', () => {
    for (const type of ['Query', 'Mutation', 'Subscription'] as const) {
      const fieldsOf = schema.getType(type) as GraphQLObjectType;
      expect(
        Object.keys(fieldsOf!.getFields())
          .filter((f) => !FEDERATION_FIELDS.includes(f))
          .sort(),
      ).toEqual(Object.keys(ROOT_FIELD_SCOPES[type]).sort());
      for (const scope of Object.values(ROOT_FIELD_SCOPES[type]))
        expect(Object.keys(SCOPE_MIN_ROLE)).toContain(scope);
    }
  });

  it('wraps root fields only: every other field keeps its own (mostly synchronous) resolver', () => {
    const plain = buildSubgraphSchema();
    const shielded = withShield(plain, { introspection: true });
    const roots = [plain.getQueryType(), plain.getMutationType()];
    let kept = 0;
    for (const type of Object.values(plain.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      const after = shielded.getType(type.name) as typeof type;
      for (const field of Object.values(type.getFields())) {
        const wrapped = after.getFields()[field.name]!.resolve !== field.resolve;
        expect(wrapped, `${type.name}.${field.name}`).toBe(roots.includes(type));
        if (!wrapped) kept++;
      }
    }
    expect(kept).toBeGreaterThan(100);
  });

  it('checks a subscription where its stream is opened, not at each event', () => {
    const plain = buildSubgraphSchema();
    const shielded = withShield(plain, { introspection: true });
    const fields = Object.values(plain.getSubscriptionType()!.getFields());
    expect(fields.map((f) => f.name)).toEqual(['secretEvents']);
    for (const field of fields) {
      const after = shielded.getSubscriptionType()!.getFields()[field.name]!;
      expect(after.subscribe).not.toBe(field.subscribe);
      expect(after.resolve).toBe(field.resolve);
    }
  });
});
