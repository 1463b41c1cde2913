import { type InferEntity, p } from '@mikro-orm/core';
import { defineEntityWithCreatedAt, timestamp } from '../../platform/db/columns.js';

export const ApiKey = defineEntityWithCreatedAt('ApiKey', 'api_keys', {
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
});
export type ApiKey = InferEntity<typeof ApiKey>;
