import SchemaBuilder from '@pothos/core';
import DirectivesPlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import ValidationPlugin, { InputValidationError } from '@pothos/plugin-validation';
import type { z } from 'zod';
import type { Actor, RequestMeta } from '../auth/scopes.js';
import { zodIssueToIssues } from '../domain/validation.js';
import type { Services } from '../services.js';

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
  // Directives and federation last: they add @key and the entity resolvers, and wrap no resolvers.
  plugins: [ErrorsPlugin, ValidationPlugin, DirectivesPlugin, FederationPlugin],
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

builder.scalarType('DateTime', {
  description: 'An ISO-8601 timestamp in UTC, e.g. 2026-11-26T10:15:30.123Z',
  serialize: (value) => new Date(value).toISOString(),
  parseValue: (value) => {
    const date = new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 timestamp');
    return date;
  },
});

builder.queryType({ description: 'Reads. Every field needs `Authorization: Bearer <api key>`.' });
builder.mutationType({ description: 'Changes. Every field needs `Authorization: Bearer <api key>`.' });
