import { domainError, type Issue } from '../../domain/errors.js';
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
  const failure = domainError(error) ?? asUnavailable(error);
  if (!failure) return null;
  switch (failure.kind) {
    case 'bad_request':
      return { status: 400, body: { detail: failure.message } };
    case 'unauthenticated':
      return {
        status: 401,
        body: { detail: 'Not authenticated' },
        headers: { 'www-authenticate': 'Bearer' },
      };
    case 'forbidden':
      return { status: 403, body: { detail: failure.message } };
    case 'not_found':
      return { status: 404, body: { detail: failure.message } };
    case 'conflict':
      return { status: 409, body: { detail: failure.message, ...failure.extra } };
    case 'version_conflict':
      return {
        status: 412,
        body: { detail: failure.message, current_version: failure.currentVersion },
        headers: { etag: `"${failure.currentVersion}"` },
      };
    case 'validation':
      return {
        status: 422,
        body: {
          detail: failure.issues.map((issue) => ({
            loc: issue.source ? [issue.source, ...issue.path] : ['body', ...restBodyPath(issue.path)],
            msg: issue.message,
            type: issue.code,
          })),
        },
      };
    case 'unavailable':
      return {
        status: 503,
        body: { detail: failure.message },
        headers: { 'retry-after': String(failure.retryAfterSeconds) },
      };
  }
}
