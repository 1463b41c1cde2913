import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import { type Actor, authorize, type RequestMeta } from '../../domain/scopes.js';
import {
  type CredentialCleanup,
  queueCredentialDeletion,
} from '../../platform/credentials/credential-cleanup.js';
import { type CredentialStore, vaultConnectionRef } from '../../platform/credentials/credential-store.js';
import { changedBy, newNamedResource } from '../../platform/db/columns.js';
import type { Tx } from '../../platform/db/unit-of-work.js';
import { WritableResourceService } from '../../platform/team-resource-service.js';
import { auditOf } from '../audit/audit.repository.js';
import { assertWithinPlan } from '../teams/plan-limits.js';
import { VaultConnection } from './vault-connection.entity.js';
import {
  type VaultConnectionListQuery,
  VaultConnectionRepository,
  type VaultConnectionView,
  vaultConnectionView,
} from './vault-connection.repository.js';
import {
  type CreateVaultConnectionCommand,
  checkRotation,
  planVaultConnection,
  planVaultConnectionUpdate,
  type RotateVaultConnectionCommand,
  type UpdateVaultConnectionCommand,
} from './vault-connection.rules.js';

const audit = auditOf('vault_connection');

/** The secrets that read their credentials through a connection, by name. */
export type SecretsUsingConnection = (
  em: EntityManager,
  connectionId: string,
) => Promise<{ id: string; name: string }[]>;

/** A vault connection of a team; both ids are validated (and lower-cased) by the door. */
export interface VaultConnectionIds {
  teamId: string;
  connectionId: string;
}

/** Every vault connection use case, shared by the REST and GraphQL doors. */
export class VaultConnectionService extends WritableResourceService<
  VaultConnection,
  VaultConnectionView,
  VaultConnectionListQuery,
  'connectionId'
> {
  readonly repository: VaultConnectionRepository;

  constructor(
    orm: MikroORM,
    private readonly store: CredentialStore,
    /** Answered by the secrets module, which depends on this one (a secret names its connection). */
    private readonly secretsUsing: SecretsUsingConnection,
    /** When given, drained right after a delete commits (else the worker's interval picks the deletion up). */
    private readonly cleanup?: Pick<CredentialCleanup, 'drain'>,
  ) {
    super(orm, {
      readScope: 'vault_connections:read',
      deleteScope: 'vault_connections:delete',
      idKey: 'connectionId',
      notFound,
      audit,
    });
    this.repository = new VaultConnectionRepository(orm);
  }

  /**
   * How many secrets use each connection. No authorization of its own: callers pass connections
   * they have already been allowed to read (the detail views of both doors; batched on GraphQL).
   */
  secretCounts(teamId: string, connectionIds: readonly string[]): Promise<Map<string, number>> {
    return this.repository.secretCounts(teamId, connectionIds);
  }

  async create(
    actor: Actor,
    meta: RequestMeta,
    teamId: string,
    command: CreateVaultConnectionCommand,
  ): Promise<VaultConnectionView> {
    authorize(actor, teamId, 'vault_connections:create');
    const { settings, credentials, createdFields } = planVaultConnection(command);
    const connection = await this.insertAudited(actor, meta, createdFields, async (em, tx) => {
      await assertWithinPlan(em, teamId, 'vault_connections', () => em.count(VaultConnection, { teamId }));
      await this.assertNameFree(em, teamId, command.name);
      const id = randomUUID();
      const ref = vaultConnectionRef(teamId, id);
      const credentialVersion = await this.store.put(ref, credentials, tx);
      return em.create(VaultConnection, {
        ...newNamedResource(teamId, command, actor.userId, id),
        vaultType: command.vaultType,
        settings,
        credentialRef: ref,
        credentialVersion,
        lastVerifiedAt: null,
      });
    });
    return vaultConnectionView(connection);
  }

  /** Renames or re-describes a connection. Tokens change only through `rotate`. */
  async update(
    actor: Actor,
    meta: RequestMeta,
    ids: VaultConnectionIds,
    command: UpdateVaultConnectionCommand,
  ): Promise<VaultConnectionView> {
    return this.updateLocked(actor, ids, async (em, connection) => {
      const { changedFields, ...change } = planVaultConnectionUpdate(connection, command);
      if (changedFields.length === 0) return;
      if (change.name !== undefined) await this.assertNameFree(em, ids.teamId, change.name);
      em.assign(connection, { ...change, ...changedBy(actor.userId) });
      audit(em, actor, meta, 'updated', connection, changedFields);
    });
  }

  /**
   * Replaces the connection's token (1Password, Doppler) or client secret (Infisical). The new value
   * is written as a new version of the same store reference before the flush, and the row moves to
   * it in the same unit of work, so the row never points at a version that does not hold the current
   * value (if the commit fails, it still points at the old one). The store then drops the older
   * versions where it can, in the same unit of work.
   */
  async rotate(
    actor: Actor,
    meta: RequestMeta,
    ids: VaultConnectionIds,
    command: RotateVaultConnectionCommand,
  ): Promise<VaultConnectionView> {
    return this.updateLocked(actor, ids, async (em, connection, tx) => {
      const credentials = checkRotation(connection.vaultType, command);
      const ref = connection.credentialRef;
      const version = await this.store.put(ref, credentials, tx, connection.credentialVersion);
      await this.store.prune(ref, version, tx);
      em.assign(connection, {
        credentialVersion: version,
        // A verification applied to the old token.
        lastVerifiedAt: null,
        ...changedBy(actor.userId),
      });
      audit(em, actor, meta, 'rotated', connection, Object.keys(credentials));
    });
  }

  /** Deletes an unused connection; 409 naming the secrets that still use it. */
  override async delete(actor: Actor, meta: RequestMeta, ids: VaultConnectionIds): Promise<void> {
    await super.delete(actor, meta, ids);
    void this.cleanup?.drain();
  }

  /**
   * A connection in use is not deleted (409). The row lock orders this against a secret being created
   * on the connection (it holds the row FOR SHARE): that secret is either committed and counted here,
   * or finds the connection gone. The stored token goes through the outbox: removed from the
   * credential store after the commit by the cleanup worker, retried until it succeeds.
   */
  protected override async beforeDelete(
    em: EntityManager,
    connection: VaultConnection,
    tx: Tx,
  ): Promise<void> {
    await this.assertUnused(em, connection.id);
    await queueCredentialDeletion(tx.sql, connection.credentialRef);
  }

  /** An update or rotation of the connection: behind the update scope, under its row lock. */
  private async updateLocked(
    actor: Actor,
    ids: VaultConnectionIds,
    change: (em: EntityManager, connection: VaultConnection, tx: Tx) => Promise<void>,
  ): Promise<VaultConnectionView> {
    authorize(actor, ids.teamId, 'vault_connections:update');
    return vaultConnectionView(await this.changeLocked(ids, change));
  }

  private async assertUnused(em: EntityManager, connectionId: string): Promise<void> {
    const secrets = await this.secretsUsing(em, connectionId);
    if (secrets.length) {
      throw new ConflictError(
        `The vault connection is used by ${secrets.length} secret(s); delete them or move them to another connection first`,
        { secrets },
      );
    }
  }

  private async assertNameFree(em: EntityManager, teamId: string, name: string): Promise<void> {
    if (await this.repository.nameTaken(em, teamId, name)) {
      throw new ConflictError(`A vault connection named '${name}' already exists in the team`);
    }
  }
}

function notFound(): never {
  throw new NotFoundError('Vault connection not found');
}

declare module '../../platform/services.js' {
  interface Services {
    vaultConnections: VaultConnectionService;
  }
}
