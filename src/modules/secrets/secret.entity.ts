import { type InferEntity, p } from '@mikro-orm/core';
import type { AuthMethod, SecretType } from '../../domain/providers.js';
import { defineEntityWithCreatedAt, defineNamedResource } from '../../platform/db/columns.js';
import { VaultConnection } from '../vault-connections/vault-connection.entity.js';

export interface FieldMapping {
  field_name: string;
  reference: string;
}

export const Secret = defineNamedResource('Secret', 'secrets', {
  secretType: p.string().length(64).$type<SecretType>(),
  authMethod: p.string().length(64).$type<AuthMethod>(),
  storage: p.string().length(16).$type<'native' | 'external_vault'>(),
  /** Native: the credential-store reference and the stored version that is current. */
  credentialRef: p.string().length(512).nullable(),
  credentialVersion: p.integer().nullable(),
  /** External vault: the connection and where each credential field lives in it. */
  vaultConnection: () => p.manyToOne(VaultConnection).ref().nullable(),
  fieldMappings: p.json<FieldMapping[]>().nullable(),
  /** Incremented by the ORM at every flush that changes the row; a flush of a stale row fails (optimistic lock). */
  version: p.integer().version(),
});
export type Secret = InferEntity<typeof Secret>;

export const SecretVersion = defineEntityWithCreatedAt('SecretVersion', 'secret_versions', {
  secretId: p.uuid().primary(),
  version: p.integer().primary(),
  changedFields: p.array(),
  secretType: p.string().length(64).$type<SecretType>(),
  authMethod: p.string().length(64).$type<AuthMethod>(),
  credentialVersion: p.integer().nullable(),
  fieldMappings: p.json<FieldMapping[]>().nullable(),
  actorUserId: p.uuid().nullable(),
  actorApiKeyId: p.uuid().nullable(),
});
export type SecretVersion = InferEntity<typeof SecretVersion>;
