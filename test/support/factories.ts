/**
 * Resources created through the REST door, as a client would: each asserts the 201 (with the
 * response text in the failure message) and returns the response body. `body` overrides or adds
 * fields of the default request; `key` is the caller's API key (the team owner's by default).
 */
import { expect } from 'vitest';
import type { Role } from '../../src/domain/scopes.js';
import { vaultSecretBody } from './bodies.js';
import { GCS_SERVICE_ACCOUNT_JSON, S3_CREDENTIALS, unique } from './constants.js';
import { rest } from './harness.js';

export interface ServerUrl {
  url: string;
}
export interface Team {
  teamId: string;
  ownerKey: string;
}
/** A created resource as the API answered. */
export type Created = Record<string, any> & { id: string; name: string };

async function post(
  app: ServerUrl,
  key: string,
  path: string,
  body: Record<string, unknown>,
): Promise<Created> {
  const res = await rest(app.url, key)('POST', path, body);
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** An s3 secret with its credentials stored by the service (`S3_CREDENTIALS` unless given). */
export function createNativeSecret(
  app: ServerUrl,
  team: Team,
  body: Record<string, unknown> = {},
  key = team.ownerKey,
): Promise<Created> {
  return post(app, key, `/v1/teams/${team.teamId}/secrets`, {
    name: unique('secret'),
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: S3_CREDENTIALS,
    ...body,
  });
}

/**
 * A new team of `app` with a native secret (`body` as for `createNativeSecret`): the team, its
 * owner's REST client, the secret as created, and the secret's REST path.
 */
export async function newTeamWithSecret<T extends Team>(
  app: ServerUrl & { newTeam(): Promise<T> },
  body: Record<string, unknown> = {},
) {
  const team = await app.newTeam();
  const api = rest(app.url, team.ownerKey);
  const secret = await createNativeSecret(app, team, body);
  return { team, api, secret, path: `/v1/teams/${team.teamId}/secrets/${secret.id}` };
}

/** `createNativeSecret` bodies for the other types (an s3_compatible or gcs location needs one). */
export const S3_COMPATIBLE_SECRET = { secret_type: 's3_compatible', auth_method: 's3_compatible_access_key' };
export const GCS_SECRET = {
  secret_type: 'gcs',
  auth_method: 'gcs_service_account',
  credentials: { service_account_json: GCS_SERVICE_ACCOUNT_JSON },
};

/**
 * A vault connection: 1Password with a token of its own unless `body` names another `vault_type`
 * (then `body` brings that type's settings: the 1Password token would be refused as a field too many).
 */
export function createVaultConnection(
  app: ServerUrl,
  team: Team,
  body: Record<string, unknown> = {},
  key = team.ownerKey,
): Promise<Created> {
  const onepassword = (body.vault_type ?? 'onepassword') === 'onepassword';
  return post(app, key, `/v1/teams/${team.teamId}/vault-connections`, {
    name: unique('vault'),
    ...(onepassword && { vault_type: 'onepassword', access_token: `ops_${unique('token')}` }),
    ...body,
  });
}

/**
 * An s3 secret whose credentials live in the vault connection, mapped field by field to
 * `references` (`ENV_MAPPINGS` by default; 1Password connections want `ONEPASSWORD_MAPPINGS`).
 */
export function createVaultSecret(
  app: ServerUrl,
  team: Team,
  connectionId: string,
  body: Record<string, unknown> = {},
  key = team.ownerKey,
): Promise<Created> {
  return post(app, key, `/v1/teams/${team.teamId}/secrets`, { ...vaultSecretBody(connectionId), ...body });
}

/** An s3 location of the secret (a bucket of its own unless given). */
export function createLocation(
  app: ServerUrl,
  team: Team,
  secretId: string,
  body: Record<string, unknown> = {},
  key = team.ownerKey,
): Promise<Created> {
  return post(app, key, `/v1/teams/${team.teamId}/locations`, {
    name: unique('location'),
    location_type: 's3',
    secret_id: secretId,
    bucket_name: unique('bucket'),
    ...body,
  });
}

/** An API key with the given scopes created through the API (the answer carries `full_key` once). */
export function createApiKey(
  app: ServerUrl,
  team: Team,
  scopes: string[],
  body: Record<string, unknown> = {},
  key = team.ownerKey,
): Promise<Created & { full_key: string }> {
  return post(app, key, `/v1/teams/${team.teamId}/api-keys`, {
    name: unique('key'),
    scopes,
    ...body,
  }) as Promise<Created & { full_key: string }>;
}

/** The key of a new member of the team with `role`, holding `scopes` (made directly, as an admin would). */
export function apiKeyFor(
  team: { keyFor(role: Role, scopes: string[]): Promise<string> },
  role: Role,
  scopes: string[],
): Promise<string> {
  return team.keyFor(role, scopes);
}
