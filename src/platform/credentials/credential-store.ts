import type { Sql, Tx } from '../db/unit-of-work.js';

/** A credential set: field name → value. Never logged, never returned. */
export type CredentialValue = Record<string, string>;

/**
 * The port every credential store implements. Stores are versioned: `put` writes a new version and
 * returns its number, and the database row records which version is current, so a database failure
 * after a successful `put` leaves the previous version current and readable.
 */
export interface CredentialStore {
  readonly kind: 'local' | 'ssm';
  /**
   * Stores a new version and returns its number. `tx` is the unit of work of the change (the local
   * store writes through it); `latest` is the newest version the caller knows of.
   */
  put(ref: string, value: CredentialValue, tx: Tx, latest?: number): Promise<number>;
  /**
   * Drops the versions of `ref` older than `keepVersion` (the one the row now names), as far as the
   * store keeps them apart: after a rotation nothing reads them any more. The local store deletes them
   * in `tx`, so they come back if the unit of work rolls back.
   */
  prune(ref: string, keepVersion: number, tx: Tx): Promise<void>;
  /** `sql`: the database connection to read through (the local store keeps its values there). */
  get(ref: string, version: number, sql: Sql): Promise<CredentialValue>;
  /** Removes every version; succeeds when nothing is stored under `ref`. */
  delete(ref: string, sql: Sql): Promise<void>;
  /** Every reference that has at least one stored version. */
  listRefs(sql: Sql): Promise<string[]>;
  /** Throws when the store cannot be reached. */
  ping(sql: Sql): Promise<void>;
  /** Resolves once the work the store runs after a commit, outside the request, has finished. */
  settled(): Promise<void>;
  /** Waits for that work (see `settled`), then releases what the store holds. */
  close(): Promise<void>;
}

export class CredentialNotFoundError extends Error {
  constructor(ref: string, version: number) {
    super(`No stored credentials at ${ref} version ${version}`);
    this.name = 'CredentialNotFoundError';
  }
}

export function secretRef(teamId: string, secretId: string): string {
  return `teams/${teamId}/secrets/${secretId}`;
}

export function vaultConnectionRef(teamId: string, connectionId: string): string {
  return `teams/${teamId}/vault-connections/${connectionId}`;
}
