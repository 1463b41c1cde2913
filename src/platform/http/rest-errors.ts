import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  type Issue,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
  VersionConflictError,
} from '../../domain/errors.js';
import { snakeCase } from '../../domain/names.js';
import { asUnavailable } from '../db/database.js';

export interface RestResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** The body holds a secret shown this once (a new API key): never stored for an idempotent replay. */
  oneTimeSecret?: boolean;
}

/**
 * A use case's issue path (into its command) as the REST body names it: the command's `value` and
 * `vault` wrappers are flat fields of the body, and names are snake_case (a credential's own field
 * names stay as they are: they are the provider table's, or as sent).
 */
function restBodyPath(path: Issue['path']): Issue['path'] {
  let wrappers = 0;
  while (path[wrappers] === 'value' || path[wrappers] === 'vault') wrappers++;
  return path
    .slice(wrappers)
    .map((segment, i, kept) =>
      typeof segment === 'number' || kept[i - 1] === 'credentials' ? segment : snakeCase(segment),
    );
}

/** The one mapping from domain errors to REST responses; null for an unexpected error. */
export function restError(error: unknown): RestResponse | null {
  if (error instanceof ValidationError) {
    return {
      status: 422,
      body: {
        detail: error.issues.map((issue) => ({
          loc: issue.source ? [issue.source, ...issue.path] : ['body', ...restBodyPath(issue.path)],
          msg: issue.message,
          type: issue.code,
        })),
      },
    };
  }
  if (error instanceof BadRequestError) return { status: 400, body: { detail: error.message } };
  if (error instanceof UnauthenticatedError) {
    return { status: 401, body: { detail: 'Not authenticated' }, headers: { 'www-authenticate': 'Bearer' } };
  }
  if (error instanceof ForbiddenError) return { status: 403, body: { detail: error.message } };
  if (error instanceof NotFoundError) return { status: 404, body: { detail: error.message } };
  if (error instanceof VersionConflictError) {
    return {
      status: 412,
      body: { detail: error.message, current_version: error.currentVersion },
      headers: { etag: `"${error.currentVersion}"` },
    };
  }
  if (error instanceof ConflictError) return { status: 409, body: { detail: error.message, ...error.extra } };
  const unavailable = asUnavailable(error);
  if (unavailable) {
    return {
      status: 503,
      body: { detail: unavailable.message },
      headers: { 'retry-after': String(unavailable.retryAfterSeconds) },
    };
  }
  return null;
}
