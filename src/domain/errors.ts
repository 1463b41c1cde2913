/** Domain errors: thrown by services, translated once per door (REST status codes, GraphQL union members). */

export interface Issue {
  /**
   * Where the problem is. With a `source`: a path into that part of the REST request as sent (a door's
   * own parsing). Without: a path into the use case's command, e.g. ['value', 'credentials',
   * 'secret_access_key'], which each door renders in its own terms.
   */
  path: (string | number)[];
  message: string;
  /** Machine-readable kind, pydantic-style (missing, string_too_long, extra_forbidden, value_error, ...). */
  code: string;
  /** The part of a REST request the path points into: body, path, query or header. */
  source?: 'body' | 'path' | 'query' | 'header';
}

/**
 * A failure a service expects and a caller can act on. `kind` says which: each door maps kinds to its
 * own answers (REST statuses, GraphQL codes), so neither needs to know every class. The classes below
 * come in the order of the REST statuses they answer (400 to 503).
 */
export abstract class DomainError extends Error {
  /** One of `KnownError`'s kinds: a subclass with a kind of its own must join that union to compile. */
  abstract readonly kind: KnownError['kind'];

  constructor(message: string) {
    super(message);
    // The class's own name: NotFoundError, ConflictError, ...
    this.name = new.target.name;
  }
}

/** A malformed request body (not a JSON object). */
export class BadRequestError extends DomainError {
  readonly kind = 'bad_request';
}

export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthenticated';

  constructor(message = 'Not authenticated') {
    super(message);
  }
}

export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict';

  constructor(
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A precondition (If-Match, expectedVersion) named a version that is no longer current. */
export class VersionConflictError extends DomainError {
  readonly kind = 'version_conflict';

  constructor(readonly currentVersion: number) {
    super(`The secret has changed: its current version is ${currentVersion}`);
  }
}

export class ValidationError extends DomainError {
  readonly kind = 'validation';

  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
  }

  static single(path: Issue['path'], message: string, code = 'value_error'): ValidationError {
    return new ValidationError([{ path, message, code }]);
  }
}

/** A dependency (credential store, database) is not answering; the caller may retry. */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';

  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** Every domain error: a switch on `kind` tells them apart, and a door's switch can cover them all. */
export type KnownError =
  | BadRequestError
  | UnauthenticatedError
  | ForbiddenError
  | NotFoundError
  | ConflictError
  | VersionConflictError
  | ValidationError
  | UnavailableError;

/** The error as one of the domain's, or null for anything else (a bug, a driver's error). */
export function domainError(error: unknown): KnownError | null {
  // Every subclass of DomainError is in KnownError.
  return error instanceof DomainError ? (error as KnownError) : null;
}
