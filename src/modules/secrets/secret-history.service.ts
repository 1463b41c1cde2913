import type { MikroORM } from '@mikro-orm/postgresql';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import type { ListQuery, Page } from '../../domain/paging.js';
import { sameFieldSet } from '../../domain/providers.js';
import { type Actor, authorize, type RequestMeta } from '../../domain/scopes.js';
import {
  CredentialNotFoundError,
  type CredentialStore,
} from '../../platform/credentials/credential-store.js';
import { changedBy } from '../../platform/db/columns.js';
import { unitOfWork } from '../../platform/db/unit-of-work.js';
import { auditOf } from '../audit/audit.repository.js';
import { Secret, SecretVersion } from './secret.entity.js';
import { recordVersion, type SecretView, secretView } from './secret.repository.js';
import type { RollbackSecretCommand } from './secret.rules.js';
import type { SecretIds, SecretService, WriteOptions } from './secret.service.js';

const audit = auditOf('secret');

/** A secret's history: list the versions, and roll back to one. */
export class SecretHistoryService {
  constructor(
    private readonly orm: MikroORM,
    private readonly store: CredentialStore,
    private readonly secrets: SecretService,
  ) {}

  async versions(
    actor: Actor,
    { teamId, secretId }: SecretIds,
    page: Pick<ListQuery<'version'>, 'offset' | 'limit' | 'sortOrder'>,
  ): Promise<Page<SecretVersion>> {
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
    ids: SecretIds,
    { version }: RollbackSecretCommand,
    options: WriteOptions = {},
  ): Promise<SecretView> {
    authorize(actor, ids.teamId, 'secrets:update');
    const secret = await unitOfWork(this.orm, async (em, tx) => {
      const { secret } = await this.secrets.loadForWrite(em, tx, ids, options.expectedVersion, true);
      const target = await em.findOne(SecretVersion, { secretId: secret.id, version });
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
          value = await this.store.get(secret.credentialRef!, target.credentialVersion!, tx.sql);
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
      Object.assign(secret, changedBy(actor.userId));
      const changedFields = [secret.storage === 'native' ? 'credentials' : 'field_mappings'];
      recordVersion(em, secret, secret.version + 1, changedFields, actor);
      audit(
        em,
        actor,
        meta,
        'rolled_back',
        { id: secret.id, name: secret.name, version: secret.version + 1 },
        changedFields,
      );
      return secret;
    });
    return secretView(secret);
  }
}

declare module '../../platform/services.js' {
  interface Services {
    secretHistory: SecretHistoryService;
  }
}
