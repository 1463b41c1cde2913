import { type InferEntity, p } from '@mikro-orm/core';
import type { SecretType } from '../../domain/providers.js';
import { defineNamedResource } from '../../platform/db/columns.js';
import { Secret } from '../secrets/secret.entity.js';

export const Location = defineNamedResource('Location', 'locations', {
  locationType: p.string().length(64).$type<SecretType>(),
  secret: () => p.manyToOne(Secret).ref(),
  bucketName: p.string().length(255),
  region: p.string().length(100).nullable(),
  endpointUrl: p.string().length(2048).nullable(),
});
export type Location = InferEntity<typeof Location>;
