import { type EntityManager, type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { ConflictError } from '../domain/errors.js';

const UNIQUE_MESSAGES: Record<string, string> = {
  secrets_team_name_unique: 'A secret with this name already exists in the team',
  locations_team_name_unique: 'A location with this name already exists in the team',
  vault_connections_team_name_unique: 'A vault connection with this name already exists in the team',
};

/**
 * Runs one use case as one transaction on a fresh EntityManager. A unique-constraint race lost at
 * commit becomes a 409 rather than a 500 (and the driver's message, which quotes SQL parameters,
 * never leaves this function).
 */
export async function inTransaction<T>(orm: MikroORM, work: (em: EntityManager) => Promise<T>): Promise<T> {
  try {
    return await orm.em.fork().transactional(work);
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      const constraint = (error as { constraint?: string }).constraint ?? '';
      const message = UNIQUE_MESSAGES[constraint];
      if (message) throw new ConflictError(message);
    }
    throw error;
  }
}
