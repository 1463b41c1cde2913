import { AsyncLocalStorage } from 'node:async_hooks';
import { type EntityManager, type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { ConflictError } from '../../domain/errors.js';

/**
 * One SQL statement with the pg driver's own `$1` placeholders, run on one connection; rows as the
 * driver returns them. The only way our SQL reaches the database (repositories and stores).
 */
export type Sql = <T = Record<string, unknown>>(text: string, values?: readonly unknown[]) => Promise<T[]>;

/** A unit of work as its parts that are not entities (stores, hooks) see it. */
export interface Tx {
  /** Statements inside the unit of work's transaction. */
  sql: Sql;
  /** Runs once the transaction has committed; a task must not throw (the change has happened). */
  afterCommit(task: () => Promise<void>): void;
}

const UNIQUE_MESSAGES: Record<string, string> = {
  secrets_team_name_unique: 'A secret with this name already exists in the team',
  locations_team_name_unique: 'A location with this name already exists in the team',
  vault_connections_team_name_unique: 'A vault connection with this name already exists in the team',
  webhooks_team_name_unique: 'A webhook with this name already exists in the team',
};

/** Work the current request wants done inside each of its units of work, just before the commit. */
export type BeforeCommit = (sql: Sql) => Promise<void>;
const beforeCommit = new AsyncLocalStorage<BeforeCommit>();

export function withBeforeCommit<T>(hook: BeforeCommit, run: () => Promise<T>): Promise<T> {
  return beforeCommit.run(hook, run);
}

const commitListeners = new WeakMap<MikroORM, Set<() => void>>();
const announced = new WeakSet<EntityManager>();

/** Has the onCommit listeners told when the unit of work on `em` commits (it wrote something they follow). */
export function announceCommit(em: EntityManager): void {
  announced.add(em);
}

/** Calls `listener` after each unit of work on `orm` that announced its commit has committed. */
export function onCommit(orm: MikroORM, listener: () => void): () => void {
  const listeners = commitListeners.get(orm) ?? new Set();
  commitListeners.set(orm, listeners);
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * One use case's writes as one unit of work: a fresh EntityManager (nothing is shared between
 * requests), the entities loaded and changed by `work`, one flush and one transaction (with the
 * request's before-commit work, e.g. its idempotency claim), then the after-commit tasks. A
 * unique-constraint race lost at the flush becomes a 409 rather than a 500 (and the driver's
 * message, which quotes the statement's values, never leaves this function). `begin`/`commit` on the
 * request's EntityManager: `transactional` would fork it once more.
 */
export async function unitOfWork<T>(
  orm: MikroORM,
  work: (em: EntityManager, tx: Tx) => Promise<T>,
): Promise<T> {
  const em = orm.em.fork();
  const committed: (() => Promise<void>)[] = [];
  let result: T;
  await em.begin();
  try {
    const sql = driverSql(orm, await transactionConnection(em));
    result = await work(em, { sql, afterCommit: (task) => committed.push(task) });
    await em.flush();
    await beforeCommit.getStore()?.(sql);
    await em.commit();
  } catch (error) {
    await em.rollback().catch(() => {}); // nothing to roll back when the commit itself failed
    if (error instanceof UniqueConstraintViolationException) {
      const message = UNIQUE_MESSAGES[(error as { constraint?: string }).constraint ?? ''];
      if (message) throw new ConflictError(message);
    }
    throw error;
  }
  if (announced.has(em)) for (const listener of commitListeners.get(orm) ?? []) listener();
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

function poolClient(orm: MikroORM): KnexClient {
  return orm.em.getConnection().getKnex().client as unknown as KnexClient;
}

/** The connection the EntityManager's open transaction runs on (its knex client hands out only that one). */
function transactionConnection(em: EntityManager): Promise<PgClient> {
  const transaction = em.getTransactionContext<{ client: KnexClient }>();
  if (!transaction) throw new Error('No transaction is open on this EntityManager');
  return transaction.client.acquireConnection();
}

/** ORMs on a PostgreSQL server: the embedded database shares one session between its connections. */
const preparing = new WeakSet<MikroORM>();
const statementNames = new Map<string, string>();

/**
 * Statements with parameters are then prepared once per connection (named by their text, which is
 * always a constant of the code) instead of parsed and planned on every call.
 */
export function prepareStatements(orm: MikroORM): void {
  preparing.add(orm);
}

/** Runs statements on `connection`, reporting each to the ORM's query logger (without its values) like the ORM's own. */
function driverSql(orm: MikroORM, connection: PgClient): Sql {
  const prepare = preparing.has(orm);
  const logger = orm.config.getLogger();
  return async <R>(text: string, values?: readonly unknown[]) => {
    let name: string | undefined;
    if (prepare && values?.length) {
      name = statementNames.get(text) ?? `s${statementNames.size + 1}`;
      statementNames.set(text, name);
    }
    const started = performance.now();
    const { rows } = await connection.query({ name, text, values });
    logger.logQuery({ query: text, took: Math.round(performance.now() - started), results: rows.length });
    return rows as R[];
  };
}

/**
 * `Sql` outside a unit of work: each statement commits on its own, on a connection borrowed from the
 * ORM's pool for that statement only (so the embedded database's single connection and the pool's
 * limits hold, and nothing is held while the caller waits on anything else).
 */
export function autocommit(orm: MikroORM): Sql {
  const client = poolClient(orm);
  return async <R>(text: string, values?: readonly unknown[]) => {
    const connection = await client.acquireConnection();
    try {
      return await driverSql(orm, connection)<R>(text, values);
    } finally {
      await client.releaseConnection(connection);
    }
  };
}
