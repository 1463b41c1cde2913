import { z } from 'zod';
import { ConflictError, type Issue, ValidationError } from '../../domain/errors.js';
import { endpointUrlAllowed, endpointUrlRequired, type SecretType } from '../../domain/providers.js';

export const bucketNameSchema = z.string().min(1).max(255);
export const regionSchema = z.string().min(1).max(100);
export const endpointUrlSchema = z.string().max(2048);
/** A secret id as sent: any short text; one that names no secret of the team is refused by `checkLinkedSecret`. */
export const secretIdSchema = z.string().max(64);

export const LOCATION_TYPE_IMMUTABLE =
  'location_type cannot be changed; create a new location of the other type instead';

/**
 * The use cases' inputs, in domain terms, whichever door they came through. Issues about them carry
 * paths into these commands (`['endpointUrl']`, `['secretId']`); each door renders those once.
 */
export interface CreateLocationCommand {
  name: string;
  description?: string | null;
  locationType: SecretType;
  secretId: string;
  bucketName: string;
  region?: string | null;
  endpointUrl?: string | null;
}

/**
 * Omitted: unchanged; null clears `description`, `region` and `endpointUrl`. There is no
 * `locationType`: it is fixed at creation.
 */
export interface UpdateLocationCommand {
  name?: string;
  description?: string | null;
  bucketName?: string;
  region?: string | null;
  endpointUrl?: string | null;
  secretId?: string;
}

/** Provider rules for the endpoint URL: required or refused by provider, and always an http(s) URL. */
export function checkEndpointUrl(locationType: SecretType, endpointUrl: string | null | undefined): void {
  const at = ['endpointUrl'];
  if (endpointUrl == null) {
    if (endpointUrlRequired(locationType)) {
      throw ValidationError.single(
        at,
        `endpoint_url is required for location_type '${locationType}'`,
        'missing',
      );
    }
    return;
  }
  if (!endpointUrlAllowed(locationType)) {
    throw ValidationError.single(at, `location_type '${locationType}' does not take an endpoint_url`);
  }
  if (!isHttpUrl(endpointUrl)) {
    throw ValidationError.single(at, 'endpoint_url must be an http(s) URL', 'url_parsing');
  }
}

function isHttpUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
}

/** The secret a location uses must be one of the team's (`null`: none found) and of the location's type. */
export function checkLinkedSecret<S extends { secretType: SecretType }>(
  secret: S | null,
  locationType: SecretType,
): asserts secret is S {
  const at: Issue['path'] = ['secretId'];
  if (!secret) throw ValidationError.single(at, 'No secret with this id in the team');
  if (secret.secretType !== locationType) {
    throw ValidationError.single(
      at,
      `The secret's type '${secret.secretType}' does not match location_type '${locationType}'`,
    );
  }
}

/** Names are unique within a team. */
export function locationNameTaken(name: string): ConflictError {
  return new ConflictError(`A location named '${name}' already exists in the team`);
}

/** The command's fields, as REST names in a stable order: a new location's audited `changed_fields`. */
export function createdFields(command: CreateLocationCommand): string[] {
  const fields: [string, unknown][] = [
    ['name', command.name],
    ['description', command.description],
    ['location_type', command.locationType],
    ['secret_id', command.secretId],
    ['bucket_name', command.bucketName],
    ['region', command.region],
    ['endpoint_url', command.endpointUrl],
  ];
  return fields.filter(([, value]) => value != null).map(([field]) => field);
}

/** The part of a stored location the update rules read. */
export interface LocationState {
  locationType: SecretType;
  name: string;
  description?: string | null;
  bucketName: string;
  region?: string | null;
  endpointUrl?: string | null;
  secretId: string;
}

/** What an accepted update changes. `changedFields` are the fields' REST names, in a stable order. */
export interface LocationChange extends UpdateLocationCommand {
  /** `secretId` is as sent: the use case checks, with `checkLinkedSecret`, that it names a secret the location may use. */
  changedFields: string[];
}

const UPDATABLE = [
  ['name', 'name'],
  ['description', 'description'],
  ['bucketName', 'bucket_name'],
  ['region', 'region'],
  ['endpointUrl', 'endpoint_url'],
  ['secretId', 'secret_id'],
] as const;

/** The update rules that need only the stored location: the endpoint URL's, and what actually changes. */
export function planLocationUpdate(current: LocationState, command: UpdateLocationCommand): LocationChange {
  if (command.endpointUrl !== undefined) checkEndpointUrl(current.locationType, command.endpointUrl);
  const change: LocationChange = { changedFields: [] };
  for (const [key, field] of UPDATABLE) {
    const sent = command[key];
    if (sent === undefined) continue;
    // Ids compare case-insensitively: stored ones are lower case.
    const same =
      key === 'secretId' ? sent?.toLowerCase() === current.secretId : sent === (current[key] ?? null);
    if (same) continue;
    Object.assign(change, { [key]: sent });
    change.changedFields.push(field);
  }
  return change;
}
