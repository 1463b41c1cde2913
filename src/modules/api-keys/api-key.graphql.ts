import { nameSearchSchema } from '../../domain/paging.js';
import type { Scope } from '../../domain/scopes.js';
import { builder } from '../../platform/graphql/builder.js';
import { valuesOf } from '../../platform/graphql/enums.js';
import { directResult } from '../../platform/graphql/error-types.js';
import { ONE_TIME_SECRET_NOTE } from '../../platform/graphql/idempotency.js';
import { lookupField } from '../../platform/graphql/ids.js';
import { listField } from '../../platform/graphql/lists.js';
import { changedResult, createField, resourceMutationField } from '../../platform/graphql/mutations.js';
import { nullableTimeFields } from '../../platform/graphql/resource-fields.js';
import { API_KEY_SORTS, type ApiKeySort, type ApiKeyView, type IssuedApiKey } from './api-key.repository.js';
import { type CreateApiKeyCommand, createApiKeyRules, isActive } from './api-key.rules.js';

export const ApiKeyRef = builder.objectRef<ApiKeyView>('ApiKey').implement({
  description:
    'An API key of the team. The secret part is shown once (createApiKey, rotateApiKey) and never stored or returned again.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The API key id (a UUID).' }),
    keyId: t.exposeString('keyId', {
      description: 'The 12-character public part of `dr_<keyId>_<secret>`; stable across rotations.',
    }),
    name: t.exposeString('name', { description: 'A label for people.' }),
    scopes: t.exposeStringList('scopes', { description: '`resource:action` scopes, e.g. `secrets:read`.' }),
    ...nullableTimeFields(t, {
      expiresAt: 'Null: never expires.',
      revokedAt: 'When the key was revoked; null: not revoked.',
      rotatedAt: 'When the key last got a new secret; null: never rotated.',
      lastUsedAt: 'Batched: may lag the latest use by up to a minute.',
    }),
    createdAt: t.field({
      type: 'DateTime',
      description: 'When the key was created.',
      resolve: (k) => k.createdAt,
    }),
    createdBy: t.exposeID('createdBy', {
      description: 'The member the key acts for; its role bounds what the key can do.',
    }),
    isActive: t.boolean({ description: 'Neither revoked nor expired.', resolve: (k) => isActive(k) }),
  }),
});

const API_KEY_SORT_DESCRIPTIONS: Record<ApiKeySort, string> = {
  name: 'By name.',
  created_at: 'By creation time.',
  last_used_at: 'By the time of the last use; keys never used sort last.',
};

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new API key: a name, its scopes and an optional expiry.',
  // Every field at once, so that each broken rule is reported.
  validate: createApiKeyRules,
  fields: (t) => ({
    name: t.string({ required: true, description: '1–255 characters.' }),
    scopes: t.stringList({
      required: true,
      description:
        'At least one known scope. Each must be carried by the calling key and reachable by its creator’s role.',
    }),
    expiresAt: t.field({ type: 'DateTime', description: 'In the future; omitted or null: never expires.' }),
  }),
});

/** `<name>`: a key just given a secret, and its whole value (`fullKey`), shown this once. */
function issuedKeyType(name: string, descriptions: { type: string; apiKey: string; fullKey: string }) {
  return builder.objectRef<IssuedApiKey>(name).implement({
    description: descriptions.type,
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, description: descriptions.apiKey, resolve: (r) => r.apiKey }),
      fullKey: t.exposeString('fullKey', { description: descriptions.fullKey }),
    }),
  });
}

const CreateApiKeySuccess = issuedKeyType('CreateApiKeySuccess', {
  type: 'The key was created; its full value is in `fullKey`, this once.',
  apiKey: 'The new key (without its secret).',
  fullKey: 'The whole key. Shown only here: store it now.',
});

const RotateApiKeySuccess = issuedKeyType('RotateApiKeySuccess', {
  type: 'The key has a new secret, in `fullKey` this once.',
  apiKey: 'The rotated key (without its secret).',
  fullKey: 'The key with its new secret. Shown only here; the old secret no longer works.',
});

const DeleteApiKeySuccess = builder.objectRef<{ deletedId: string }>('DeleteApiKeySuccess').implement({
  description: 'The key was deleted.',
  fields: (t) => ({ deletedId: t.exposeID('deletedId', { description: 'The id of the deleted key.' }) }),
});

listField('apiKeys', {
  type: ApiKeyRef,
  plural: 'API keys',
  description:
    "The team's API keys (never their secrets), newest first unless `orderBy` says otherwise. Needs api_keys:read. Another team's id is a NOT_FOUND error.",
  filter: {
    fields: (t) => ({
      q: t.string({
        validate: nameSearchSchema.nullish(),
        description: 'Case-insensitive substring of the name.',
      }),
      includeRevoked: t.boolean({ description: 'Default true: revoked keys stay visible for audit.' }),
    }),
    omitted: 'Omitted: all keys of the team, revoked ones included.',
    query: (filter) => ({ includeRevoked: filter.includeRevoked ?? true }),
  },
  order: {
    values: valuesOf(API_KEY_SORTS, (s) => API_KEY_SORT_DESCRIPTIONS[s]),
    description: 'Default: CREATED_AT, DESC. Keys never used sort last either way.',
  },
  list: (ctx) => ctx.services.apiKeys,
});

lookupField('apiKey', ApiKeyRef, ['API key', 'apiKeyId'], (ctx) => ctx.services.apiKeys);

createField('createApiKey', {
  type: CreateApiKeySuccess,
  what: 'Creates an API key acting for the calling key’s member.',
  also: '; counts toward the plan’s active-key limit.',
  resource: 'key',
  input: CreateApiKeyInput,
  idempotencyNote: ONE_TIME_SECRET_NOTE,
  errors: directResult('CreateApiKey', 'The new key (its secret shown once), or why nothing was created.'),
  create: (ctx, actor, teamId, input) => {
    const command: CreateApiKeyCommand = {
      name: input.name,
      // Each one checked by createApiKeyRules.
      scopes: input.scopes as Scope[],
      expiresAt: input.expiresAt ?? null,
    };
    return ctx.services.apiKeys.create(actor, ctx.meta, teamId, command);
  },
});

/** The id argument of a mutation of one key, and the key the services take it as. */
const API_KEY_ID = ['id', 'API key', 'apiKeyId'] as const;

resourceMutationField('rotateApiKey', {
  type: RotateApiKeySuccess,
  what: 'Gives the key a new secret (same id, keyId, name and scopes); the old secret stops working at once.',
  also: ', and every scope of the key.',
  id: API_KEY_ID,
  idempotencyNote: ONE_TIME_SECRET_NOTE,
  errors: directResult(
    'RotateApiKey',
    'The key with its new secret (shown once), or why nothing was changed.',
  ),
  change: (ctx, actor, ids) => ctx.services.apiKeys.rotate(actor, ctx.meta, ids),
});

resourceMutationField('revokeApiKey', {
  type: ApiKeyRef,
  what: 'Makes the key unusable at once; it stays listed (revokedAt set). Revoking a revoked key changes nothing.',
  id: API_KEY_ID,
  errors: changedResult('RevokeApiKey', 'API key', 'revoked'),
  change: (ctx, actor, ids) => ctx.services.apiKeys.revoke(actor, ctx.meta, ids),
});

resourceMutationField('deleteApiKey', {
  type: DeleteApiKeySuccess,
  what: 'Removes the key permanently (the audit log keeps its id and name).',
  id: API_KEY_ID,
  errors: directResult('DeleteApiKey', 'The deleted id, or why nothing was deleted.'),
  change: async (ctx, actor, ids) => {
    await ctx.services.apiKeys.delete(actor, ctx.meta, ids);
    return { deletedId: ids.apiKeyId };
  },
});
