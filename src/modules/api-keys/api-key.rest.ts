import { z } from 'zod';
import { restListQuery } from '../../domain/paging.js';
import { SCOPES, type Scope } from '../../domain/scopes.js';
import { parseOrThrow, timestampInput } from '../../domain/validation.js';
import { type ActionRoute, teamResource } from '../../platform/http/resource-routes.js';
import {
  conflict,
  createdFields,
  errorResponseSchema,
  idSchema,
  timestampSchema,
} from '../../platform/http/rest-docs.js';
import type { Route } from '../../platform/http/rest-router.js';
import { restBody, restView, viewOf } from '../../platform/http/rest-views.js';
import type { Services } from '../../platform/services.js';
import { API_KEY_SORTS, type ApiKeyView, type IssuedApiKey } from './api-key.repository.js';
import {
  type ApiKeyIds,
  apiKeyNameSchema,
  apiKeyScopesSchema,
  type CreateApiKeyCommand,
  EXPIRY_RULE,
  isActive,
} from './api-key.rules.js';

export const createApiKeySchema = z.strictObject({
  name: apiKeyNameSchema,
  scopes: apiKeyScopesSchema,
  expires_at: timestampInput.refine(EXPIRY_RULE.check, EXPIRY_RULE.message).nullish(),
});

/** Action endpoints (rotate, revoke) take no input; an empty JSON object is accepted, anything in it is refused. */
export const noInputSchema = z.strictObject({});

/** The POST body as the create command. */
export function createApiKeyCommand(body: unknown): CreateApiKeyCommand {
  const input = parseOrThrow(createApiKeySchema, body);
  return {
    name: input.name,
    // Each one checked by apiKeyScopesSchema.
    scopes: input.scopes as Scope[],
    expiresAt: input.expires_at == null ? null : new Date(input.expires_at),
  };
}

const keyIdSchema = z
  .string()
  .meta({ description: 'The 12-character public part of `dr_<key_id>_<secret>`.' });
const scopesSchema = z.array(z.string().meta({ description: `A scope: ${SCOPES.join(', ')}.` }));
const fullKeySchema = z.string().meta({
  description: 'The whole key, `dr_<key_id>_<secret>`: shown this once, never stored or returned again.',
});

export const apiKeyResponseSchema = z
  .object({
    id: idSchema,
    key_id: keyIdSchema,
    name: z.string(),
    scopes: scopesSchema,
    expires_at: timestampSchema.nullable(),
    revoked_at: timestampSchema.nullable(),
    rotated_at: timestampSchema.nullable(),
    last_used_at: timestampSchema
      .nullable()
      .meta({ description: 'May lag the latest use by up to a minute.' }),
    ...createdFields,
    is_active: z.boolean().meta({ description: 'Neither revoked nor expired.' }),
  })
  .meta({ id: 'ApiKeyResponse' });

/** ApiKeyResponse: never the secret or its hash. */
export const apiKeyResponse = restView(apiKeyResponseSchema, (key: ApiKeyView) => ({
  scopes: [...key.scopes],
  is_active: isActive(key),
}));

export const createdApiKeyResponseSchema = z
  .object({
    id: idSchema,
    key_id: keyIdSchema,
    name: z.string(),
    full_key: fullKeySchema,
    scopes: scopesSchema,
    expires_at: timestampSchema.nullable(),
    ...createdFields,
  })
  .meta({ id: 'CreatedApiKeyResponse' });

/** The create response: the one place (with rotate) where `full_key` appears. */
const createdResponse = viewOf(createdApiKeyResponseSchema, ({ apiKey, fullKey }: IssuedApiKey) =>
  restBody(createdApiKeyResponseSchema, apiKey, { full_key: fullKey, scopes: [...apiKey.scopes] }),
);

export const rotatedApiKeyResponseSchema = apiKeyResponseSchema
  .extend({ full_key: fullKeySchema })
  .meta({ id: 'RotatedApiKeyResponse' });

/** The rotate response: the key, with its new `full_key`. */
const rotatedResponse = viewOf(rotatedApiKeyResponseSchema, ({ apiKey, fullKey }: IssuedApiKey) => ({
  ...apiKeyResponse(apiKey),
  full_key: fullKey,
}));

const LIST_QUERY = restListQuery(API_KEY_SORTS, 'created_at', {
  include_revoked: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({ description: 'false: only keys that are not revoked.', default: 'true' }),
});

const API_KEYS = teamResource('/v1/teams/:team_id/api-keys/:api_key_id', 'API key');

/** An action on a key that takes no input: no body or `{}`; anything in it is refused before `run`. */
function noInputAction<T>(verb: string, route: ActionRoute<T, ApiKeyIds> & { description: string }): Route {
  return API_KEYS.action(verb, {
    ...route,
    description: `${route.description} No input: send no body or \`{}\`.`,
    body: noInputSchema,
    bodyOptional: true,
    run: (request, ids) => {
      parseOrThrow(noInputSchema, request.body);
      return route.run(request, ids);
    },
  });
}

/** REST routes for this resource: thin translations to the shared service. */
export function apiKeyRoutes({ apiKeys }: Services): Route[] {
  return [
    API_KEYS.create({
      description:
        "The key acts for the calling key's member. It can carry only scopes the calling key carries and its role reaches.",
      body: createApiKeySchema,
      response: 'The key, with `full_key` shown this once.',
      responses: {
        403: {
          description:
            "The API key lacks the scope or role, a requested scope is beyond the caller, or the team's plan allows no more active keys.",
          schema: errorResponseSchema,
        },
      },
      service: apiKeys,
      command: createApiKeyCommand,
      view: createdResponse,
      oneTimeSecret: true,
    }),
    API_KEYS.list({ query: LIST_QUERY, service: apiKeys, view: apiKeyResponse }),
    API_KEYS.get({ response: 'The key (never its secret).', service: apiKeys, view: apiKeyResponse }),
    noInputAction('rotate', {
      description: 'A new secret for the same key id, name and scopes; the old secret stops working at once.',
      action: 'create',
      response: 'The key, with the new `full_key` shown this once.',
      responses: { 409: conflict('The key is revoked or expired.') },
      run: ({ actor, meta }, ids) => apiKeys.rotate(actor, meta, ids),
      view: rotatedResponse,
      oneTimeSecret: true,
    }),
    noInputAction('revoke', {
      description:
        'The key stops working at once but stays listed for audit. Revoking a revoked key changes nothing.',
      action: 'delete',
      response: 'The revoked key.',
      run: ({ actor, meta }, ids) => apiKeys.revoke(actor, meta, ids),
      view: apiKeyResponse,
    }),
    API_KEYS.delete({
      description: 'Permanent; the audit log keeps its id and name.',
      delete: ({ actor, meta }, ids) => apiKeys.delete(actor, meta, ids),
    }),
  ];
}
