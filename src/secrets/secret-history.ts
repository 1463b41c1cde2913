import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.js';
import { type Actor, authorize, type RequestMeta } from '../auth/scopes.js';
import { CredentialNotFoundError, type CredentialStore } from '../credentials/credential-store.js';
import { inTransaction } from '../db/transaction.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { parsePathIds } from '../domain/ids.js';
import type { ListQuery, Page } from '../domain/paging.js';
import { sameFieldSet } from '../domain/providers.js';
import { parseOrThrow } from '../domain/validation.js';
import { Secret, SecretVersion } from '../entities/index.js';
import { lockSecret, type WriteOptions } from './secret-service.js';

/** Adds the history entry of an accepted change to the change's unit of work. Never a credential value. */
export function recordVersion(
  em: EntityManager,
  secret: Secret,
  changedFields: string[],
  actor: Actor,
): void {
  em.create(SecretVersion, {
    secretId: secret.id,
    version: secret.version,
    changedFields,
    secretType: secret.secretType,
    authMethod: secret.authMethod,
    credentialVersion: secret.credentialVersion ?? null,
    fieldMappings: secret.fieldMappings ?? null,
    actorUserId: actor.userId,
    actorApiKeyId: actor.apiKeyId,
    createdAt: secret.updatedAt,
  });
}

export const rollbackSchema = z.strictObject({ version: z.number().int().min(1) });

/** A secret's history: list the versions, and roll back to one. */
export class SecretHistoryService {
  constructor(
    private readonly orm: MikroORM,
    private readonly store: CredentialStore,
  ) {}

  async versions(
    actor: Actor,
    teamIdParam: string,
    secretIdParam: string,
    page: Pick<ListQuery<'version'>, 'offset' | 'limit' | 'sortOrder'>,
  ): Promise<Page<SecretVersion>> {
    const { team_id: teamId, secret_id: secretId } = parsePathIds({
      team_id: teamIdParam,
      secret_id: secretIdParam,
    });
    authorize(actor, teamId, 'secrets:read');
    const em = this.orm.em.fork();
    if (!(await em.count(Secret, { id: secretId, teamId }))) throw new NotFoundError('Secret not found');
    const [items, total] = await em.findAndCount(
      SecretVersion,
      { secretId },
      { orderBy: { version: page.sortOrder }, limit: page.limit, offset: page.offset },
    );
    return { items, total };
  }

  /**
   * Makes version `n`'s credentials (native: a copy of its stored value, as a new store version) or
   * field mappings (external vault) current again, as a new version. 409 when the stored value has
   * expired from the store, or when the secret's auth method now needs other fields.
   */
  async rollback(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    secretIdParam: string,
    body: unknown,
    options: WriteOptions = {},
  ): Promise<Secret> {
    const { team_id: teamId, secret_id: secretId } = parsePathIds({
      team_id: teamIdParam,
      secret_id: secretIdParam,
    });
    authorize(actor, teamId, 'secrets:update');
    const { version } = parseOrThrow(rollbackSchema, body);
    return inTransaction(this.orm, async (em, tx) => {
      const secret = await lockSecret(em, teamId, secretId, options.expectedVersion);
      const target = await em.findOne(SecretVersion, { secretId, version });
      if (!target)
        throw ValidationError.single(['version'], `Secret has no version ${version}`, 'value_error');
      if (!sameFieldSet(target.authMethod, secret.authMethod)) {
        throw new ConflictError(
          `Version ${version} holds credentials for auth method '${target.authMethod}', but the secret now uses '${secret.authMethod}'; change the auth method first`,
        );
      }
      if (secret.storage === 'native') {
        let value: Record<string, string>;
        try {
          value = await this.store.get(secret.credentialRef!, target.credentialVersion!, em);
        } catch (error) {
          if (error instanceof CredentialNotFoundError) {
            throw new ConflictError(
              `The stored credentials of version ${version} have expired from the credential store`,
            );
          }
          throw error;
        }
        secret.credentialVersion = await this.store.put(
          secret.credentialRef!,
          value,
          tx,
          secret.credentialVersion ?? undefined,
        );
      } else {
        secret.fieldMappings = target.fieldMappings;
      }
      secret.version += 1;
      secret.updatedAt = new Date();
      secret.updatedBy = actor.userId;
      const changedFields = [secret.storage === 'native' ? 'credentials' : 'field_mappings'];
      recordVersion(em, secret, changedFields, actor);
      recordAudit(em, actor, meta, {
        eventType: 'secret_rolled_back',
        resourceType: 'secret',
        resourceId: secret.id,
        resourceName: secret.name,
        changedFields,
      });
      return secret;
    });
  }
}
