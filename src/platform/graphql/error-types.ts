import { InputValidationError } from '@pothos/plugin-validation';
import {
  GraphQLError,
  type GraphQLInputType,
  type GraphQLResolveInfo,
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
} from 'graphql';
import {
  ConflictError,
  domainError,
  type Issue,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../../domain/errors.js';
import { camelCase } from '../../domain/names.js';
import { asUnavailable } from '../db/database.js';
import { builder } from './builder.js';

interface InputIssue {
  path: string[];
  message: string;
  code: string;
}

const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure, returned as a member of a result union.',
  fields: (t) => ({ message: t.exposeString('message', { description: 'What went wrong, for people.' }) }),
});

const InputIssueRef = builder.objectRef<InputIssue>('InputIssue').implement({
  description: 'One problem with the input.',
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Where in the arguments, e.g. ["input", "name"].' }),
    message: t.exposeString('message', { description: 'What is wrong, for people.' }),
    code: t.exposeString('code', {
      description: 'Machine-readable kind: missing, string_too_long, value_error, ...',
    }),
  }),
});

/** Both the validation plugin's argument checks and the service's rules surface as `ValidationError`. */
builder.objectType(InputValidationError, {
  name: 'ValidationError',
  description: 'The input broke a rule; `issues` says which field and why. Nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    issues: t.field({
      type: [InputIssueRef],
      description: 'The problems found, each with where it is.',
      resolve: (error) =>
        error.issues.map((issue) => ({
          path: (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)),
          message: issue.message,
          code: (issue as { code?: string }).code ?? 'value_error',
        })),
    }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'No such resource in this team (or the team is not yours).',
  interfaces: [ErrorInterface],
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change conflicts with current state (a name in use, linked locations of another type).',
  interfaces: [ErrorInterface],
});

builder.objectType(VersionConflictError, {
  name: 'VersionConflictError',
  description: 'expectedVersion is no longer the current version; re-read and retry. Nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    currentVersion: t.exposeInt('currentVersion', { description: 'The current version of the resource.' }),
  }),
});

export const MUTATION_ERRORS = [InputValidationError, NotFoundError, ConflictError];
/** For writes that take an expected version. */
export const VERSIONED_MUTATION_ERRORS = [...MUTATION_ERRORS, VersionConflictError];

/** The error members a mutation's result union can have. */
type ResultErrors = typeof VERSIONED_MUTATION_ERRORS;

/**
 * The `errors` option of a mutation whose payload is wrapped: `<name>Result`, the union of
 * `<name>Success` (one field, `data`, holding what the resolver returns) and the error types.
 */
export function wrappedResult(
  name: string,
  descriptions: { success: string; union: string; data: [field: string, description: string] },
  types: ResultErrors = MUTATION_ERRORS,
) {
  const [field, description] = descriptions.data;
  return {
    types,
    result: { name: `${name}Success`, description: descriptions.success },
    union: { name: `${name}Result`, description: descriptions.union },
    dataField: { name: field, description },
  };
}

/** The `errors` option of a delete mutation: `Delete<name>Result`, the deleted id as `deletedId`. */
export function deletedResult(name: string, resource: string) {
  return wrappedResult(`Delete${name}`, {
    success: `The ${resource} was deleted.`,
    union: 'The deleted id, or why nothing was deleted.',
    data: ['deletedId', `The id of the deleted ${resource}.`],
  });
}

/** The `errors` option of a mutation whose own type is the success member of `<name>Result`. */
export function directResult(name: string, description: string, types: ResultErrors = MUTATION_ERRORS) {
  return { types, union: { name: `${name}Result`, description }, directResult: true as const };
}

/** Maps domain issue paths (REST field names) to GraphQL argument paths. */
export type IssuePathMapper = (path: Issue['path'], source: Issue['source']) => string[];

/** List arguments keep their own names in issue paths (`first`, `after`); REST query filters live under `filter`. */
export const argumentPath: IssuePathMapper = (path, source) => {
  const names = path.map((p) => camelCase(String(p)));
  return source === 'query' ? ['filter', ...names] : names;
};

/**
 * A use case's issue paths (into its command, e.g. `['value', 'credentials', 'access_key_id']`) as
 * paths into the field's arguments: camelCase names under `at`, where the command sits, with the
 * member sent for each @oneOf input put back (`credentials.accessKey.accessKeyId`). A name that only
 * another member has (a credential field of another variant) stops the path at the @oneOf input.
 */
export function commandPathIn(
  info: GraphQLResolveInfo,
  args: object,
  at: string[] = ['input'],
): IssuePathMapper {
  const field = info.parentType.getFields()[info.fieldName];
  return (path) => {
    const result: string[] = [];
    let type: GraphQLInputType | undefined;
    let value: unknown = args;
    const step = (name: string) => {
      const parent = type && getNullableType(type);
      if (result.length === 0) type = field?.args.find((arg) => arg.name === name)?.type;
      else if (isListType(parent)) type = parent.ofType;
      else type = isInputObjectType(parent) ? parent.getFields()[name]?.type : undefined;
      result.push(name);
      value =
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
    };
    for (const name of at) step(name);
    for (const segment of path) {
      const name = typeof segment === 'number' ? String(segment) : camelCase(segment);
      const named = type && getNamedType(type);
      if (isInputObjectType(named) && named.isOneOf && !(name in named.getFields())) {
        const sent = Object.entries((value ?? {}) as Record<string, unknown>).find(([, v]) => v != null)?.[0];
        const member = sent === undefined ? undefined : getNamedType(named.getFields()[sent]!.type);
        if (!isInputObjectType(member) || !(name in member.getFields())) break;
        step(sent!);
      }
      step(name);
    }
    return result;
  };
}

export const defaultInputPath: IssuePathMapper = (path, source) =>
  source === 'path' || source === 'header'
    ? path.map((p) => camelCase(String(p)))
    : ['input', ...path.map((p) => camelCase(String(p)))];

/** Runs a use case, turning domain validation errors into GraphQL-shaped ones. */
export async function translate<T>(
  work: () => Promise<T>,
  mapPath: IssuePathMapper = defaultInputPath,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ValidationError) {
      const issues = error.issues.map((issue) => ({
        path: mapPath(issue.path, issue.source),
        message: issue.message,
        code: issue.code,
      }));
      const translated = new InputValidationError({ issues });
      throw translated;
    }
    throw error;
  }
}

/** Errors outside the result unions: authentication, authorization and availability, with stable codes. */
export function toGraphQLError(error: unknown): GraphQLError | null {
  const failure = domainError(error) ?? asUnavailable(error);
  switch (failure?.kind) {
    case 'unauthenticated':
      return new GraphQLError('Not authenticated', { extensions: { code: 'UNAUTHENTICATED' } });
    case 'forbidden':
      return new GraphQLError(failure.message, { extensions: { code: 'FORBIDDEN' } });
    // Outside a result union (queries, lists): another team's id reads like an unknown one.
    case 'not_found':
      return new GraphQLError(failure.message, { extensions: { code: 'NOT_FOUND' } });
    case 'unavailable':
      return new GraphQLError(failure.message, {
        extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: failure.retryAfterSeconds },
      });
  }
  if (error instanceof InputValidationError) {
    return new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return null;
}

/** A lookup's result, or null when there is none (the single-item queries answer null, not an error). */
export async function nullIfNotFound<T>(lookup: () => Promise<T>): Promise<T | null> {
  try {
    return await lookup();
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}
