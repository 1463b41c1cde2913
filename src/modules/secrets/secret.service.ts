import { randomUUID } from 'node:crypto';
import { type EntityManager, LockMode, type MikroORM, OptimisticLockError } from '@mikro-orm/postgresql';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../../domain/errors.js';
import { isUuid } from '../../domain/ids.js';
import type { SecretType } from '../../domain/providers.js';
import { type Actor, authorize, type RequestMeta } from '../../domain/scopes.js';
import {
  type CredentialCleanup,
  queueCredentialDeletion,
} from '../../platform/credentials/credential-cleanup.js';
import { type CredentialStore, secretRef } from '../../platform/credentials/credential-store.js';
import { changedBy, newNamedResource } from '../../platform/db/columns.js';
import { autocommit, type Tx, unitOfWork } from '../../platform/db/unit-of-work.js';
import { TeamResourceService } from '../../platform/team-resource-service.js';
import { auditOf } from '../audit/audit.repository.js';
import { assertWithinPlan } from '../teams/plan-limits.js';
import { VaultConnection } from '../vault-connections/vault-connection.entity.js';
import { type FieldMapping, Secret } from './secret.entity.js';
import {
  recordVersion,
  type SecretDetail,
  type SecretListQuery,
  SecretRepository,
  type SecretView,
  secretView,
} from './secret.repository.js';
import {
  type CreateSecretCommand,
  checkAuthMethodServes,
  checkCredentials,
  checkFieldMappings,
  planSecretUpdate,
  type UpdateSecretCommand,
} from './secret.rules.js';

const audit = auditOf('secret');

/** A secret of a team; both ids are validated (and lower-cased) by the door. */
export interface SecretIds {
  teamId: string;
  secretId: string;
}

export interface UpdateResult {
  secret: SecretView;
  /** REST names of the fields the update changed (or, in a dry run, would change). */
  changedFields: string[];
  dryRun: boolean;
}

/** Preconditions on a write: `expectedVersion` (If-Match on REST) must equal the current version. */
export interface WriteOptions {
  expectedVersion?: number;
}

/** Every secret use case, shared by the REST and GraphQL doors. */
export class SecretService extends TeamResourceService<SecretView, SecretListQuery, 'secretId'> {
  readonly repository: SecretRepository;

  constructor(
    private readonly orm: MikroORM,
    private readonly store: CredentialStore,
    private readonly cleanup: CredentialCleanup,
  ) {
    super({ readScope: 'secrets:read', idKey: 'secretId', notFound });
    this.repository = new SecretRepository(orm);
  }

  async getDetail(actor: Actor, { teamId, secretId }: SecretIds): Promise<SecretDetail> {
    authorize(actor, teamId, 'secrets:read');
    return (await this.repository.detail(teamId, secretId)) ?? notFound();
  }

  /** How many locations use each secret, in one query. */
  locationCounts(secretIds: readonly string[]): Promise<Map<string, number>> {
    return this.repository.locationCounts(secretIds);
  }

  async create(
    actor: Actor,
    meta: RequestMeta,
    teamId: string,
    command: CreateSecretCommand,
  ): Promise<SecretView> {
    authorize(actor, teamId, 'secrets:create');
    const { value } = command;
    checkAuthMethodServes(command.secretType, command.authMethod, false);
    const credentials =
      'credentials' in value ? checkCredentials(command.authMethod, value.credentials) : undefined;
    const secret = await unitOfWork(this.orm, async (em, tx) => {
      let vault: { connection: VaultConnection; fieldMappings: FieldMapping[] } | undefined;
      if ('vault' in value) {
        const connection = await findVaultConnection(em, teamId, value.vault.vaultConnectionId);
        const at = ['value', 'vault', 'fieldMappings'];
        vault = {
          connection,
          fieldMappings: checkFieldMappings(
            command.authMethod,
            connection.vaultType,
            value.vault.fieldMappings,
            at,
          ),
        };
      }
      await assertWithinPlan(em, teamId, 'secrets', () => em.count(Secret, { teamId }));
      if (await this.repository.nameTaken(tx.sql, teamId, command.name)) throw nameTaken(command.name);
      const id = randomUUID();
      const ref = secretRef(teamId, id);
      const credentialVersion = credentials ? await this.store.put(ref, credentials, tx) : null;
      const created = em.create(Secret, {
        ...newNamedResource(teamId, command, actor.userId, id),
        secretType: command.secretType,
        authMethod: command.authMethod,
        storage: credentials ? 'native' : 'external_vault',
        credentialRef: credentials ? ref : null,
        credentialVersion,
        vaultConnection: vault?.connection ?? null,
        fieldMappings: vault?.fieldMappings ?? null,
      });
      const createdFields = [
        'name',
        ...(command.description != null ? ['description'] : []),
        'secret_type',
        'auth_method',
        ...(credentials ? ['credentials'] : ['vault_connection_id', 'field_mappings']),
      ];
      recordVersion(em, created, 1, createdFields, actor);
      audit(em, actor, meta, 'created', { id, name: command.name, version: 1 }, createdFields);
      return created;
    });
    return secretView(secret);
  }

  /**
   * Applies an update as one unit of work: load the secret, plan the change with the rules, write
   * new credentials to the store (before the flush: if the flush fails, the row still points at the
   * previous, readable version), change the entity, flush it, add its history entry and audit event,
   * which the unit of work flushes before it commits.
   * With `dryRun`, every check runs (linked locations and name clashes included) and the result
   * previews the change, but nothing is written anywhere.
   *
   * The flush moves the row on only from the version it read (optimistic lock). One that lost that
   * race runs once more under the row lock; so do, at once, dry runs, type changes (their location
   * check needs the lock) and local-store rotations (the store numbers versions under it).
   */
  async update(
    actor: Actor,
    meta: RequestMeta,
    ids: SecretIds,
    command: UpdateSecretCommand,
    options: WriteOptions & { dryRun?: boolean } = {},
  ): Promise<UpdateResult> {
    authorize(actor, ids.teamId, 'secrets:update');
    const rotates = command.value !== undefined && 'credentials' in command.value;
    const lockFirst =
      options.dryRun || command.secretType !== undefined || (rotates && this.store.kind === 'local');
    if (lockFirst) return this.applyUpdate(actor, meta, ids, command, options, true);
    try {
      return await this.applyUpdate(actor, meta, ids, command, options, false);
    } catch (error) {
      if (!lostRace(error)) throw error;
    }
    try {
      return await this.applyUpdate(actor, meta, ids, command, options, true);
    } catch (error) {
      if (error instanceof NotFoundError && rotates) {
        // Deleted while the first attempt wrote to the store: that value may have outlived the
        // deletion's cleanup, so the store is cleaned up once more (on its own: not this request's
        // unit of work, whose idempotency claim must not be marked as carried out).
        await queueCredentialDeletion(autocommit(this.orm), secretRef(ids.teamId, ids.secretId));
        void this.cleanup.drain();
      }
      throw error;
    }
  }

  private async applyUpdate(
    actor: Actor,
    meta: RequestMeta,
    ids: SecretIds,
    command: UpdateSecretCommand,
    options: WriteOptions & { dryRun?: boolean },
    lock: boolean,
  ): Promise<UpdateResult> {
    const dryRun = Boolean(options.dryRun);
    const { secret, changedFields, preview } = await unitOfWork(this.orm, async (em, tx) => {
      const { secret, vaultType } = await this.loadForWrite(em, tx, ids, options.expectedVersion, lock);
      const change = planSecretUpdate(secret, command, vaultType);
      const { changedFields } = change;
      if (changedFields.length === 0) return { secret, changedFields };
      if (change.secretType) await this.assertLocationsAccept(tx, secret.id, change.secretType);
      // Otherwise the unique constraint decides at the flush; checked first where a refusal would come too late.
      if (change.name && (dryRun || change.credentials)) {
        if (await this.repository.nameTaken(tx.sql, ids.teamId, change.name)) throw nameTaken(change.name);
      }
      const changed: Partial<Secret> = {
        ...(change.name !== undefined && { name: change.name }),
        ...(change.description !== undefined && { description: change.description }),
        ...(change.secretType && { secretType: change.secretType }),
        ...(change.authMethod && { authMethod: change.authMethod }),
        ...(change.fieldMappings && { fieldMappings: change.fieldMappings }),
        ...changedBy(actor.userId),
      };
      if (dryRun) return { secret, changedFields, preview: { ...changed, version: secret.version + 1 } };
      if (change.credentials) {
        changed.credentialVersion = await this.store.put(
          secret.credentialRef!,
          change.credentials,
          tx,
          secret.credentialVersion ?? undefined,
        );
      }
      em.assign(secret, changed);
      // The version-checked UPDATE goes first (a flush inserts before it updates), so it takes the row
      // lock before the history entry is inserted: a stale update then waits for, and loses to, an
      // update under the lock, instead of both waiting on each other's entry of the same version.
      await em.flush();
      recordVersion(em, secret, secret.version, changedFields, actor);
      audit(em, actor, meta, 'updated', secret, changedFields);
      return { secret, changedFields };
    });
    return { secret: { ...secretView(secret), ...preview }, changedFields, dryRun };
  }

  async delete(actor: Actor, meta: RequestMeta, ids: SecretIds, options: WriteOptions = {}): Promise<void> {
    authorize(actor, ids.teamId, 'secrets:delete');
    await unitOfWork(this.orm, async (em, tx) => {
      const { secret } = await this.loadForWrite(em, tx, ids, options.expectedVersion, true);
      const using = await this.repository.linkedLocations(tx.sql, secret.id);
      if (using.length) {
        throw new ConflictError(
          `Secret '${secret.name}' is used by ${using.length} location(s): ${using.map((l) => l.name).join(', ')}. Delete or re-point them first`,
          { locations: using },
        );
      }
      if (secret.credentialRef) await queueCredentialDeletion(tx.sql, secret.credentialRef);
      em.remove(secret);
      audit(em, actor, meta, 'deleted', secret);
    });
    // Best effort now; the outbox row makes it happen later if this fails or the process dies first.
    void this.cleanup.drain();
  }

  /**
   * The team's secret, managed by `em`, for a change; `lock` holds its row lock until the unit of
   * work ends. Checks the caller's expected version.
   */
  async loadForWrite(
    em: EntityManager,
    tx: Tx,
    { teamId, secretId }: SecretIds,
    expectedVersion: number | undefined,
    lock: boolean,
  ) {
    const loaded = (await this.repository.load(em, tx.sql, teamId, secretId, lock)) ?? notFound();
    if (expectedVersion !== undefined && loaded.secret.version !== expectedVersion) {
      throw new VersionConflictError(loaded.secret.version);
    }
    return loaded;
  }

  private async assertLocationsAccept(tx: Tx, secretId: string, secretType: SecretType): Promise<void> {
    const blocking = (await this.repository.linkedLocations(tx.sql, secretId)).filter(
      (l) => l.location_type !== secretType,
    );
    if (blocking.length) {
      throw new ConflictError(
        `Cannot change secret_type to '${secretType}': linked locations have another location_type: ${blocking.map((l) => `${l.name} (${l.location_type})`).join(', ')}`,
        { locations: blocking },
      );
    }
  }
}

/** A flush that found the row moved on (or deleted) since it was read. */
function lostRace(error: unknown): boolean {
  return error instanceof OptimisticLockError;
}

function notFound(): never {
  throw new NotFoundError('Secret not found');
}

function nameTaken(name: string): ConflictError {
  return new ConflictError(`A secret named '${name}' already exists in the team`);
}

/**
 * The team's vault connection a new secret is to use, held FOR SHARE until the unit of work ends: a
 * concurrent delete of it then either waits and sees the secret (409), or went first and it is gone.
 */
async function findVaultConnection(em: EntityManager, teamId: string, id: string): Promise<VaultConnection> {
  const connection = isUuid(id)
    ? await em.findOne(
        VaultConnection,
        { id: id.toLowerCase(), teamId },
        { lockMode: LockMode.PESSIMISTIC_READ },
      )
    : null;
  if (!connection) {
    throw ValidationError.single(
      ['value', 'vault', 'vaultConnectionId'],
      'No vault connection with this id in the team',
    );
  }
  return connection;
}

declare module '../../platform/services.js' {
  interface Services {
    secrets: SecretService;
  }
}
