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

export class DomainError extends Error {}

export class ValidationError extends DomainError {
  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
    this.name = 'ValidationError';
  }

  static single(path: Issue['path'], message: string, code = 'value_error'): ValidationError {
    return new ValidationError([{ path, message, code }]);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DomainError {
  constructor(
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Not authenticated') {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** A malformed request body (not a JSON object). */
export class BadRequestError extends DomainError {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** A dependency (credential store, database) is not answering; the caller may retry. */
export class UnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** A precondition (If-Match, expectedVersion) named a version that is no longer current. */
export class VersionConflictError extends DomainError {
  constructor(readonly currentVersion: number) {
    super(`The secret has changed: its current version is ${currentVersion}`);
    this.name = 'VersionConflictError';
  }
}
