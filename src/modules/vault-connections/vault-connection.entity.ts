import { type InferEntity, p } from '@mikro-orm/core';
import type { VaultType } from '../../domain/vaults.js';
import { defineNamedResource, timestamp } from '../../platform/db/columns.js';

/** Non-secret settings of a vault connection (project, environment, ...); tokens live in the credential store. */
export type VaultSettings = Record<string, string>;

export const VaultConnection = defineNamedResource('VaultConnection', 'vault_connections', {
  vaultType: p.string().length(32).$type<VaultType>(),
  settings: p.json<VaultSettings>(),
  credentialRef: p.string().length(512),
  credentialVersion: p.integer(),
  lastVerifiedAt: timestamp().nullable(),
});
export type VaultConnection = InferEntity<typeof VaultConnection>;
