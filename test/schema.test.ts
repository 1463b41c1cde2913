import { readFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printableSchema } from '../src/graphql/schema.js';

describe('schema.graphql', () => {
  it('is the printed schema (run `npm run schema` after changing the GraphQL types)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSchema(printableSchema())}\n`);
  });

  it('keeps @oneOf on the inputs that take exactly one variant', () => {
    const schema = printableSchema();
    for (const name of [
      'SecretValueInput',
      'CredentialsInput',
      'NewSecretValueInput',
      'VaultSettingsInput',
    ]) {
      const type = schema.getType(name) as { isOneOf?: boolean } | undefined;
      expect(type?.isOneOf, name).toBe(true);
    }
    expect(printSchema(schema)).toContain('input SecretValueInput @oneOf {');
  });
});
