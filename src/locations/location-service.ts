import { randomUUID } from 'node:crypto';
import { LockMode, type MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.js';
import { type Actor, authorize, type RequestMeta } from '../auth/scopes.js';
import { inTransaction } from '../db/transaction.js';
import { ConflictError, type Issue, ValidationError } from '../domain/errors.js';
import { isUuid, parsePathIds } from '../domain/ids.js';
import {
  endpointUrlAllowed,
  endpointUrlRequired,
  SECRET_TYPES,
  type SecretType,
} from '../domain/providers.js';
import { parseOrThrow } from '../domain/validation.js';
import { Location, Secret } from '../entities/index.js';
import { descriptionSchema, nameSchema } from '../secrets/secret-rules.js';

export const createLocationSchema = z.strictObject({
  name: nameSchema,
  description: descriptionSchema.nullish(),
  location_type: z.enum(SECRET_TYPES),
  secret_id: z.string().max(64),
  bucket_name: z.string().min(1).max(255),
  region: z.string().min(1).max(100).nullish(),
  endpoint_url: z.string().max(2048).nullish(),
});

/** Provider rules for `endpoint_url`: required or refused by provider, and always an http(s) URL. */
export function checkEndpointUrl(locationType: SecretType, endpointUrl: string | null | undefined): Issue[] {
  const at = ['endpoint_url'];
  if (endpointUrl == null) {
    return endpointUrlRequired(locationType)
      ? [
          {
            path: at,
            message: `endpoint_url is required for location_type '${locationType}'`,
            code: 'missing',
          },
        ]
      : [];
  }
  if (!endpointUrlAllowed(locationType)) {
    return [
      {
        path: at,
        message: `location_type '${locationType}' does not take an endpoint_url`,
        code: 'value_error',
      },
    ];
  }
  let url: URL | undefined;
  try {
    url = new URL(endpointUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) {
    return [{ path: at, message: 'endpoint_url must be an http(s) URL', code: 'url_parsing' }];
  }
  return [];
}

export class LocationService {
  constructor(private readonly orm: MikroORM) {}

  async create(actor: Actor, meta: RequestMeta, teamIdParam: string, body: unknown): Promise<Location> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'locations:create');
    const input = parseOrThrow(createLocationSchema, body);
    const endpointIssues = checkEndpointUrl(input.location_type, input.endpoint_url);
    if (endpointIssues.length) throw new ValidationError(endpointIssues);

    return inTransaction(this.orm, async (em) => {
      // FOR SHARE: a concurrent secret_type change waits for this location, then sees it.
      const secret = isUuid(input.secret_id)
        ? await em.findOne(
            Secret,
            { id: input.secret_id.toLowerCase(), teamId },
            { lockMode: LockMode.PESSIMISTIC_READ },
          )
        : null;
      if (!secret) throw ValidationError.single(['secret_id'], 'No secret with this id in the team');
      if (secret.secretType !== input.location_type) {
        throw ValidationError.single(
          ['secret_id'],
          `The secret's type '${secret.secretType}' does not match location_type '${input.location_type}'`,
        );
      }
      if (await em.count(Location, { teamId, name: input.name })) {
        throw new ConflictError(`A location named '${input.name}' already exists in the team`);
      }
      const now = new Date();
      const location = em.create(Location, {
        id: randomUUID(),
        teamId,
        name: input.name,
        description: input.description ?? null,
        locationType: input.location_type,
        secretId: secret.id,
        bucketName: input.bucket_name,
        region: input.region ?? null,
        endpointUrl: input.endpoint_url ?? null,
        createdAt: now,
        createdBy: actor.userId,
        updatedAt: now,
        updatedBy: actor.userId,
      });
      recordAudit(em, actor, meta, {
        eventType: 'location_created',
        resourceType: 'location',
        resourceId: location.id,
        resourceName: location.name,
        changedFields: Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] != null),
      });
      return location;
    });
  }
}
