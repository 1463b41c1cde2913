import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { AuthMethod, SecretType } from '../shared/providers.js';
import type { VaultType } from '../shared/vaults.js';

const timestamp = () => p.datetime().columnType('timestamptz(3)');

export const Team = defineEntity({
  name: 'Team',
  tableName: 'teams',
  properties: {
    id: p.uuid().primary(),
    name: p.string().length(255),
    plan: p.string().length(16).$type<'free' | 'pro'>(),
    createdAt: timestamp(),
  },
});
export type Team = InferEntity<typeof Team>;

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary(),
    email: p.string().length(320).unique(),
    createdAt: timestamp(),
  },
});
export type User = InferEntity<typeof User>;

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  properties: {
    teamId: p.uuid().primary(),
    userId: p.uuid().primary(),
    role: p.string().length(16).$type<'viewer' | 'operator' | 'admin' | 'owner'>(),
    createdAt: timestamp(),
  },
});
export type Membership = InferEntity<typeof Membership>;

export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.uuid().primary(),
    teamId: p.uuid(),
    createdBy: p.uuid(),
    keyId: p.string().length(12).unique(),
    secretHash: p.string().length(64),
    name: p.string().length(255),
    scopes: p.array(),
    expiresAt: timestamp().nullable(),
    revokedAt: timestamp().nullable(),
    rotatedAt: timestamp().nullable(),
    lastUsedAt: timestamp().nullable(),
    createdAt: timestamp(),
  },
});
export type ApiKey = InferEntity<typeof ApiKey>;

export interface FieldMapping {
  field_name: string;
  reference: string;
}

export const Secret = defineEntity({
  name: 'Secret',
  tableName: 'secrets',
  properties: {
    id: p.uuid().primary(),
    teamId: p.uuid(),
    name: p.string().length(255),
    description: p.text().nullable(),
    secretType: p.string().length(64).$type<SecretType>(),
    authMethod: p.string().length(64).$type<AuthMethod>(),
    storage: p.string().length(16).$type<'native' | 'external_vault'>(),
    /** Native: the credential-store reference and the stored version that is current. */
    credentialRef: p.string().length(512).nullable(),
    credentialVersion: p.integer().nullable(),
    /** External vault: the connection and where each credential field lives in it. */
    vaultConnection: () => p.manyToOne(VaultConnection).ref().nullable(),
    fieldMappings: p.json<FieldMapping[]>().nullable(),
    /** The locations that use the secret (their `location_type` is its `secret_type`). */
    locations: () => p.oneToMany(Location).mappedBy('secret'),
    /** Incremented by the ORM at every flush that changes the row; a flush of a stale row fails (optimistic lock). */
    version: p.integer().version(),
    createdAt: timestamp(),
    createdBy: p.uuid(),
    updatedAt: timestamp(),
    updatedBy: p.uuid(),
  },
});
export type Secret = InferEntity<typeof Secret>;

export const Location = defineEntity({
  name: 'Location',
  tableName: 'locations',
  properties: {
    id: p.uuid().primary(),
    teamId: p.uuid(),
    name: p.string().length(255),
    description: p.text().nullable(),
    locationType: p.string().length(64).$type<SecretType>(),
    secret: () => p.manyToOne(Secret).ref(),
    bucketName: p.string().length(255),
    region: p.string().length(100).nullable(),
    endpointUrl: p.string().length(2048).nullable(),
    createdAt: timestamp(),
    createdBy: p.uuid(),
    updatedAt: timestamp(),
    updatedBy: p.uuid(),
  },
});
export type Location = InferEntity<typeof Location>;

/** Non-secret settings of a vault connection (project, environment, ...); tokens live in the credential store. */
export type VaultSettings = Record<string, string>;

export const VaultConnection = defineEntity({
  name: 'VaultConnection',
  tableName: 'vault_connections',
  properties: {
    id: p.uuid().primary(),
    teamId: p.uuid(),
    name: p.string().length(255),
    description: p.text().nullable(),
    vaultType: p.string().length(32).$type<VaultType>(),
    settings: p.json<VaultSettings>(),
    credentialRef: p.string().length(512),
    credentialVersion: p.integer(),
    /** The external-vault secrets that read their credentials through this connection. */
    secrets: () => p.oneToMany(Secret).mappedBy('vaultConnection'),
    lastVerifiedAt: timestamp().nullable(),
    createdAt: timestamp(),
    createdBy: p.uuid(),
    updatedAt: timestamp(),
    updatedBy: p.uuid(),
  },
});
export type VaultConnection = InferEntity<typeof VaultConnection>;

export const AuditEvent = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: {
    id: p.uuid().primary(),
    teamId: p.uuid(),
    eventType: p.string().length(64),
    resourceType: p.string().length(32),
    resourceId: p.uuid(),
    resourceName: p.string().length(255),
    actorUserId: p.uuid().nullable(),
    actorApiKeyId: p.uuid().nullable(),
    changedFields: p.array(),
    ip: p.string().length(64).nullable(),
    userAgent: p.string().length(512).nullable(),
    requestId: p.string().length(64).nullable(),
    createdAt: timestamp(),
  },
});
export type AuditEvent = InferEntity<typeof AuditEvent>;

export const SecretVersion = defineEntity({
  name: 'SecretVersion',
  tableName: 'secret_versions',
  properties: {
    secretId: p.uuid().primary(),
    version: p.integer().primary(),
    changedFields: p.array(),
    secretType: p.string().length(64).$type<SecretType>(),
    authMethod: p.string().length(64).$type<AuthMethod>(),
    credentialVersion: p.integer().nullable(),
    fieldMappings: p.json<FieldMapping[]>().nullable(),
    actorUserId: p.uuid().nullable(),
    actorApiKeyId: p.uuid().nullable(),
    createdAt: timestamp(),
  },
});
export type SecretVersion = InferEntity<typeof SecretVersion>;
export const ENTITIES = [
  Team,
  User,
  Membership,
  ApiKey,
  Secret,
  Location,
  VaultConnection,
  AuditEvent,
  SecretVersion,
];
