import { AsyncLocalStorage } from 'node:async_hooks';
import { type EntityManager, type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { ConflictError } from '../domain/errors.js';

/** A statement run on one connection: `$1`-style parameters, rows as the pg driver returns them. */
export type Sql = <T = Record<string, unknown>>(text: string, values?: readonly unknown[]) => Promise<T[]>;

/** A write transaction, as the parts of a change that are not entities (stores, hooks) see it. */
export interface Tx {
  sql: Sql;
  /** Runs once the transaction has committed; a task must not throw (the change has happened). */
  afterCommit(task: () => Promise<void>): void;
}

const UNIQUE_MESSAGES: Record<string, string> = {
  secrets_team_name_unique: 'A secret with this name already exists in the team',
  locations_team_name_unique: 'A location with this name already exists in the team',
  vault_connections_team_name_unique: 'A vault connection with this name already exists in the team',
};

/** Work the current request wants done inside each of its write transactions, just before the commit. */
export type BeforeCommit = (sql: Sql) => Promise<void>;
const beforeCommit = new AsyncLocalStorage<BeforeCommit>();

export function withBeforeCommit<T>(hook: BeforeCommit, run: () => Promise<T>): Promise<T> {
  return beforeCommit.run(hook, run);
}

/** Whether this request has work that must commit with its writes (they then need a transaction). */
export function hasBeforeCommit(): boolean {
  return beforeCommit.getStore() !== undefined;
}

/**
 * Runs one use case as one transaction on a fresh EntityManager. A unique-constraint race lost at
 * commit becomes a 409 rather than a 500 (and the driver's message, which quotes SQL parameters,
 * never leaves this function).
 */
export async function inTransaction<T>(
  orm: MikroORM,
  work: (em: EntityManager, tx: Tx) => Promise<T>,
): Promise<T> {
  const committed: (() => Promise<void>)[] = [];
  let result: T;
  try {
    result = await orm.em.fork().transactional(async (em) => {
      // The ORM's transaction as `Sql`: its parameters are numbered in order of use.
      const sql: Sql = (text, values = []) => em.execute(text.replace(/\$\d+/g, '?'), [...values], 'all');
      const value = await work(em, { sql, afterCommit: (task) => committed.push(task) });
      await beforeCommit.getStore()?.(sql);
      return value;
    });
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      const constraint = (error as { constraint?: string }).constraint ?? '';
      const message = UNIQUE_MESSAGES[constraint];
      if (message) throw new ConflictError(message);
    }
    throw error;
  }
  for (const task of committed) await task();
  return result;
}

interface PgClient {
  query(config: { name?: string; text: string; values?: readonly unknown[] }): Promise<{ rows: unknown[] }>;
}

interface KnexClient {
  acquireConnection(): Promise<PgClient>;
  releaseConnection(connection: PgClient): Promise<void>;
}

function driverClient(orm: MikroORM): KnexClient {
  return orm.em.getConnection().getKnex().client as unknown as KnexClient;
}

/** ORMs on a PostgreSQL server: the embedded database shares one session between its connections. */
const preparing = new WeakSet<MikroORM>();
const statementNames = new Map<string, string>();

/**
 * Statements run through `autocommit` and `sqlTransaction` are then prepared once per connection
 * (named by their text, which is always a constant of the code) instead of parsed and planned on
 * every call.
 */
export function prepareStatements(orm: MikroORM): void {
  preparing.add(orm);
}

function driverSql(orm: MikroORM, connection: PgClient): Sql {
  const prepare = preparing.has(orm);
  return async <R>(text: string, values?: readonly unknown[]) => {
    let name: string | undefined;
    if (prepare && values?.length) {
      name = statementNames.get(text) ?? `s${statementNames.size + 1}`;
      statementNames.set(text, name);
    }
    return (await connection.query({ name, text, values })).rows as R[];
  };
}

/**
 * `Sql` without a transaction: each statement commits on its own, on a connection borrowed from the
 * ORM's pool for that statement only (so the embedded database's single connection and the pool's
 * limits hold, and nothing is held while the caller waits on anything else). Hot paths use plain
 * driver calls: the ORM's unit of work and query builder cost far more CPU than the statements.
 */
export function autocommit(orm: MikroORM): Sql {
  const client = driverClient(orm);
  return async <R>(text: string, values?: readonly unknown[]) => {
    const connection = await client.acquireConnection();
    try {
      return await driverSql(orm, connection)<R>(text, values);
    } finally {
      await client.releaseConnection(connection);
    }
  };
}

/** `work` inside BEGIN … COMMIT on one connection of the ORM's pool (see `autocommit`); any error rolls back. */
export async function sqlTransaction<T>(orm: MikroORM, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = driverClient(orm);
  const connection = await client.acquireConnection();
  const sql = driverSql(orm, connection);
  const committed: (() => Promise<void>)[] = [];
  let result: T;
  try {
    await sql('begin');
    try {
      result = await work({ sql, afterCommit: (task) => committed.push(task) });
      await beforeCommit.getStore()?.(sql);
      await sql('commit');
    } catch (error) {
      await sql('rollback').catch(() => {});
      throw error;
    }
  } finally {
    await client.releaseConnection(connection);
  }
  for (const task of committed) await task();
  return result;
}
