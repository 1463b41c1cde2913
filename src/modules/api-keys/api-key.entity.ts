import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { timestamp } from '../../platform/db/columns.js';

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
