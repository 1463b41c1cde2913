import SchemaBuilder from '@pothos/core';
import DirectivesPlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import ValidationPlugin, { InputValidationError } from '@pothos/plugin-validation';
import type { z } from 'zod';
import type { Actor, RequestMeta } from '../../shared/scopes.js';
import { timestampInput, zodIssueToIssues } from '../../shared/validation.js';
import type { Services } from '../services.js';
import StorableInputPlugin from './storable-input-plugin.js';

export interface GraphQLContext {
  services: Services;
  meta: RequestMeta;
  /** Resolves the caller from the Authorization header; rejects with UnauthenticatedError. Memoized per request. */
  actor(): Promise<Actor>;
}

interface BuilderTypeConfig {
  Context: GraphQLContext;
  Scalars: { DateTime: { Input: Date; Output: Date | string } };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
}

export type BuilderTypes = PothosSchemaTypes.ExtendDefaultTypes<BuilderTypeConfig>;

export const builder = new SchemaBuilder<BuilderTypeConfig>({
  // Later plugins map arguments first: storable text is checked before the validation plugin's rules.
  // Directives and federation last: they add @key and the entity resolvers, and wrap no resolvers.
  plugins: [ErrorsPlugin, ValidationPlugin, StorableInputPlugin, DirectivesPlugin, FederationPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [], unsafelyHandleInputErrors: true },
  validation: {
    // Argument checks report issues in the same words and codes as the service's own validation.
    validationError: (failure) =>
      new InputValidationError({
        issues: failure.issues.flatMap((issue) =>
          zodIssueToIssues(issue as z.core.$ZodIssue).map((i) => ({ ...i, path: i.path.map(String) })),
        ),
      }),
  },
});

/**
 * A DateTime input graphql-js refuses. It prefixes the message with where the value was (the variable
 * and the path in it, or the literal's location) and keeps `extensions` on the error it reports.
 */
class DateTimeInputError extends TypeError {
  readonly extensions = { code: 'BAD_USER_INPUT' };
}

builder.scalarType('DateTime', {
  description:
    'An ISO-8601 timestamp, e.g. 2026-11-26T10:15:30.123Z (as input: with Z or an offset, years 0001–9999 in UTC)',
  serialize: (value) => new Date(value).toISOString(),
  // REST's rule for input timestamps.
  parseValue: (value) => {
    const parsed = timestampInput.safeParse(value);
    if (parsed.success) return new Date(parsed.data);
    throw new DateTimeInputError(zodIssueToIssues(parsed.error.issues[0])[0].message);
  },
});

builder.queryType({ description: 'Reads. Every field needs `Authorization: Bearer <api key>`.' });
builder.mutationType({ description: 'Changes. Every field needs `Authorization: Bearer <api key>`.' });
