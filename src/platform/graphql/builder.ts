import SchemaBuilder from '@pothos/core';
import DirectivesPlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import RelayPlugin from '@pothos/plugin-relay';
import ValidationPlugin, { InputValidationError } from '@pothos/plugin-validation';
import type { z } from 'zod';
import type { Actor, RequestMeta } from '../../domain/scopes.js';
import { timestampInput, zodIssueToIssues } from '../../domain/validation.js';
import type { Services } from '../services.js';
import StorableInputPlugin from './storable-input-plugin.js';

export interface GraphQLContext {
  services: Services;
  meta: RequestMeta;
  /** Resolves the caller from the Authorization header; rejects with UnauthenticatedError. Memoized per request. */
  actor(): Promise<Actor>;
  /** Aborted once the client has gone away (what a long-lived operation, a subscription, ends on). */
  signal: AbortSignal;
  /**
   * The caller as the database says now, its key authenticated again without the cache `actor()`
   * may answer from: for what outlives the request (a subscription).
   */
  currentActor(): Promise<Actor>;
}

interface BuilderTypeConfig {
  Context: GraphQLContext;
  Scalars: { DateTime: { Input: Date; Output: Date | string } };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
}

export type BuilderTypes = PothosSchemaTypes.ExtendDefaultTypes<BuilderTypeConfig>;

/** What an input type's `fields` builds its fields with. */
export type InputFieldBuilder = PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>;

export const builder = new SchemaBuilder<BuilderTypeConfig>({
  // Later plugins map arguments first: storable text is checked before the validation plugin's rules.
  // Directives and federation last: they add @key and the entity resolvers, and wrap no resolvers.
  plugins: [
    ErrorsPlugin,
    ValidationPlugin,
    StorableInputPlugin,
    RelayPlugin,
    DirectivesPlugin,
    FederationPlugin,
  ],
  defaultFieldNullability: false,
  errors: { defaultTypes: [], unsafelyHandleInputErrors: true },
  // Connections only (src/platform/graphql/connection.ts): no Node interface, no node(id) queries.
  relay: {
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    edgesFieldOptions: {
      nullable: { list: false, items: false },
      description: 'The items of this page with their cursors.',
    },
    nodeFieldOptions: { nullable: false },
    nodesOnConnection: { description: 'The items of this page, without cursors.' },
    pageInfoFieldOptions: { description: 'Whether more pages exist, and the cursors to reach them.' },
    cursorFieldOptions: { description: 'Opaque; pass it as `after` to get the items after this one.' },
    pageInfoTypeOptions: { description: 'Where a page sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'More items follow: pass `endCursor` as `after` to get them.' },
    hasPreviousPageFieldOptions: {
      description: 'Items come before this page (it was asked for with `after`).',
    },
    startCursorFieldOptions: { description: 'The cursor of the first item; null on an empty page.' },
    endCursorFieldOptions: { description: 'The cursor of the last item; null on an empty page.' },
  },
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
    const [issue] = parsed.error.issues.flatMap((i) => zodIssueToIssues(i));
    throw new DateTimeInputError(issue?.message ?? 'Invalid DateTime');
  },
});

builder.queryType({ description: 'Reads. Every field needs `Authorization: Bearer <api key>`.' });
builder.mutationType({ description: 'Changes. Every field needs `Authorization: Bearer <api key>`.' });
