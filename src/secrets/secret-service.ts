import { randomUUID } from 'node:crypto';
import { type EntityManager, LockMode, type MikroORM } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.js';
import { type Actor, authorize, type RequestMeta } from '../auth/scopes.js';
import { type CredentialStore, secretRef } from '../credentials/credential-store.js';
import { inTransaction } from '../db/transaction.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { isUuid, parsePathIds } from '../domain/ids.js';
import type { SecretType } from '../domain/providers.js';
import { parseOrThrow } from '../domain/validation.js';
import { Location, Secret, VaultConnection } from '../entities/index.js';
import {
  checkAuthMethodServes,
  checkCredentials,
  checkFieldMappings,
  createSecretSchema,
  planSecretUpdate,
  updateSecretSchema,
} from './secret-rules.js';

/** Every secret use case, shared by the REST and GraphQL doors. */
export class SecretService {
  constructor(
    private readonly orm: MikroORM,
    private readonly store: CredentialStore,
  ) {}

  async get(actor: Actor, teamIdParam: string, secretIdParam: string): Promise<Secret> {
    const { team_id: teamId, secret_id: secretId } = parsePathIds({
      team_id: teamIdParam,
      secret_id: secretIdParam,
    });
    authorize(actor, teamId, 'secrets:read');
    const secret = await this.orm.em.fork().findOne(Secret, { id: secretId, teamId });
    if (!secret) throw new NotFoundError('Secret not found');
    return secret;
  }

  async create(actor: Actor, meta: RequestMeta, teamIdParam: string, body: unknown): Promise<Secret> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'secrets:create');
    const input = parseOrThrow(createSecretSchema, body);
    checkAuthMethodServes(input.secret_type, input.auth_method, false);
    const hasCredentials = input.credentials != null;
    const hasVault = input.vault_connection_id != null || input.field_mappings != null;
    if (hasCredentials === hasVault) {
      throw ValidationError.single(
        [],
        'Send either credentials (native) or vault_connection_id with field_mappings (external vault)',
      );
    }
    const credentials = hasCredentials ? checkCredentials(input.auth_method, input.credentials!) : undefined;

    return inTransaction(this.orm, async (em) => {
      let vault: { id: string; mappings: Secret['fieldMappings'] } | undefined;
      if (hasVault) {
        const issues = [];
        if (input.vault_connection_id == null) issues.push(missing('vault_connection_id'));
        if (input.field_mappings == null) issues.push(missing('field_mappings'));
        if (issues.length) throw new ValidationError(issues);
        const connection = await this.findVaultConnection(em, teamId, input.vault_connection_id!);
        vault = {
          id: connection.id,
          mappings: checkFieldMappings(input.auth_method, connection.vaultType, input.field_mappings!),
        };
      }
      await this.assertNameFree(em, teamId, input.name);
      const id = randomUUID();
      const now = new Date();
      const ref = secretRef(teamId, id);
      const secret = em.create(Secret, {
        id,
        teamId,
        name: input.name,
        description: input.description ?? null,
        secretType: input.secret_type,
        authMethod: input.auth_method,
        storage: credentials ? 'native' : 'external_vault',
        credentialRef: credentials ? ref : null,
        credentialVersion: credentials ? await this.store.put(ref, credentials, em) : null,
        vaultConnectionId: vault?.id ?? null,
        fieldMappings: vault?.mappings ?? null,
        version: 1,
        createdAt: now,
        createdBy: actor.userId,
        updatedAt: now,
        updatedBy: actor.userId,
      });
      recordAudit(em, actor, meta, {
        eventType: 'secret_created',
        resourceType: 'secret',
        resourceId: id,
        resourceName: input.name,
        changedFields: Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] != null),
      });
      return secret;
    });
  }

  async update(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    secretIdParam: string,
    body: unknown,
  ): Promise<Secret> {
    const { team_id: teamId, secret_id: secretId } = parsePathIds({
      team_id: teamIdParam,
      secret_id: secretIdParam,
    });
    authorize(actor, teamId, 'secrets:update');
    const patch = parseOrThrow(updateSecretSchema, body);
    if (patch.credentials != null && patch.field_mappings != null) {
      throw ValidationError.single(['field_mappings'], 'Send credentials or field_mappings, not both');
    }

    return inTransaction(this.orm, async (em) => {
      // The row lock serializes concurrent updates of one secret: each sees the previous one's result.
      const secret = await em.findOne(
        Secret,
        { id: secretId, teamId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!secret) throw new NotFoundError('Secret not found');
      const vaultType = secret.vaultConnectionId
        ? (await em.findOneOrFail(VaultConnection, { id: secret.vaultConnectionId })).vaultType
        : null;
      const change = planSecretUpdate(secret, patch, vaultType);
      if (change.changedFields.length === 0) return secret;

      if (change.secretType) await this.assertLocationsAccept(em, secret.id, change.secretType);
      if (change.name) await this.assertNameFree(em, teamId, change.name);
      if (change.credentials) {
        // Written before the row: if the commit then fails, the row still points at the old version.
        secret.credentialVersion = await this.store.put(secret.credentialRef!, change.credentials, em);
      }
      if (change.name !== undefined) secret.name = change.name;
      if (change.description !== undefined) secret.description = change.description;
      if (change.secretType) secret.secretType = change.secretType;
      if (change.authMethod) secret.authMethod = change.authMethod;
      if (change.fieldMappings) secret.fieldMappings = change.fieldMappings;
      secret.version += 1;
      secret.updatedAt = new Date();
      secret.updatedBy = actor.userId;
      recordAudit(em, actor, meta, {
        eventType: 'secret_updated',
        resourceType: 'secret',
        resourceId: secret.id,
        resourceName: secret.name,
        changedFields: change.changedFields,
      });
      return secret;
    });
  }

  private async findVaultConnection(em: EntityManager, teamId: string, id: string): Promise<VaultConnection> {
    const connection = isUuid(id)
      ? await em.findOne(VaultConnection, { id: id.toLowerCase(), teamId })
      : null;
    if (!connection) {
      throw ValidationError.single(['vault_connection_id'], 'No vault connection with this id in the team');
    }
    return connection;
  }

  private async assertNameFree(em: EntityManager, teamId: string, name: string): Promise<void> {
    if (await em.count(Secret, { teamId, name })) {
      throw new ConflictError(`A secret named '${name}' already exists in the team`);
    }
  }

  private async assertLocationsAccept(
    em: EntityManager,
    secretId: string,
    secretType: SecretType,
  ): Promise<void> {
    const blocking = await em.find(
      Location,
      { secretId, locationType: { $ne: secretType } },
      { orderBy: { name: 'asc' }, fields: ['id', 'name', 'locationType'] },
    );
    if (blocking.length) {
      throw new ConflictError(
        `Cannot change secret_type to '${secretType}': ${blocking.length} linked location(s) have a different location_type`,
        { locations: blocking.map((l) => ({ id: l.id, name: l.name, location_type: l.locationType })) },
      );
    }
  }
}

function missing(field: string) {
  return { path: [field], message: 'Field required for an external-vault secret', code: 'missing' };
}
