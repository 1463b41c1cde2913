import { randomUUID } from 'node:crypto';
import { type EntityManager, LockMode, type MikroORM, ref } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.js';
import { type Actor, authorize, type RequestMeta } from '../auth/scopes.js';
import { unitOfWork } from '../db/unit-of-work.js';
import { ConflictError, type Issue, NotFoundError, ValidationError } from '../domain/errors.js';
import { isUuid, parsePathIds } from '../domain/ids.js';
import { containsPattern, type ListQuery, type Page } from '../domain/paging.js';
import {
  endpointUrlAllowed,
  endpointUrlRequired,
  SECRET_TYPES,
  type SecretType,
} from '../domain/providers.js';
import { parseOrThrow } from '../domain/validation.js';
import { Location, Secret } from '../entities/index.js';
import { type SecretView, secretView } from '../secrets/secret-repository.js';
import { descriptionSchema, nameSchema } from '../secrets/secret-rules.js';

const bucketNameSchema = z.string().min(1).max(255);
const regionSchema = z.string().min(1).max(100);
const endpointUrlSchema = z.string().max(2048);

export const createLocationSchema = z.strictObject({
  name: nameSchema,
  description: descriptionSchema.nullish(),
  location_type: z.enum(SECRET_TYPES),
  secret_id: z.string().max(64),
  bucket_name: bucketNameSchema,
  region: regionSchema.nullish(),
  endpoint_url: endpointUrlSchema.nullish(),
});

/**
 * PATCH body. Omitted or null means unchanged, except `description`, `region` and `endpoint_url`,
 * where null clears. `location_type` is immutable: sending it at all is a 422.
 */
export const updateLocationSchema = z.strictObject({
  name: nameSchema.nullish(),
  description: descriptionSchema.nullish(),
  bucket_name: bucketNameSchema.nullish(),
  region: regionSchema.nullish(),
  endpoint_url: endpointUrlSchema.nullish(),
  secret_id: z.string().max(64).nullish(),
  location_type: z
    .unknown()
    .refine(
      (v) => v === undefined,
      'location_type cannot be changed; create a new location of the other type instead',
    )
    .optional(),
});
export type UpdateLocationPatch = z.output<typeof updateLocationSchema>;

export const LOCATION_SORTS = ['name', 'created_at', 'updated_at'] as const;
export type LocationSort = (typeof LOCATION_SORTS)[number];

export interface LocationListQuery extends ListQuery<LocationSort> {
  locationType?: SecretType;
}

const SORT_PROPERTIES = {
  name: 'name',
  created_at: 'createdAt',
  updated_at: 'updatedAt',
} as const satisfies Record<LocationSort, keyof Location>;

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

/** The fields a PATCH may change, as REST names in a stable order (also the audit event's changed_fields). */
const UPDATABLE = [
  ['name', 'name'],
  ['description', 'description'],
  ['bucket_name', 'bucketName'],
  ['region', 'region'],
  ['endpoint_url', 'endpointUrl'],
] as const;

/** Every location use case, shared by the REST and GraphQL doors. */
export class LocationService {
  constructor(private readonly orm: MikroORM) {}

  async get(actor: Actor, teamIdParam: string, locationIdParam: string): Promise<Location> {
    const { teamId, locationId } = this.ids(teamIdParam, locationIdParam);
    authorize(actor, teamId, 'locations:read');
    const location = await this.orm.em.fork().findOne(Location, { id: locationId, teamId });
    if (!location) throw new NotFoundError('Location not found');
    return location;
  }

  /** Federation entity lookup by id alone: the caller's team's locations among `ids`; others' are absent. */
  async findForActor(actor: Actor, ids: readonly string[]): Promise<Map<string, Location>> {
    authorize(actor, actor.teamId, 'locations:read');
    const wanted = ids.filter(isUuid).map((id) => id.toLowerCase());
    const rows = wanted.length
      ? await this.orm.em.fork().find(Location, { id: { $in: wanted }, teamId: actor.teamId })
      : [];
    return new Map(rows.map((row) => [row.id, row]));
  }

  /** The location with the name of its secret (the REST detail view). */
  async getDetail(
    actor: Actor,
    teamIdParam: string,
    locationIdParam: string,
  ): Promise<{ location: Location; secretName: string | null }> {
    const location = await this.get(actor, teamIdParam, locationIdParam);
    const secret = await this.orm.em
      .fork()
      .findOne(Secret, { id: location.secret.id, teamId: location.teamId }, { fields: ['id', 'name'] });
    return { location, secretName: secret?.name ?? null };
  }

  /** `readQuery` parses the door's paging and filter input; it runs after authorization, like body parsing. */
  async list(actor: Actor, teamIdParam: string, readQuery: () => LocationListQuery): Promise<Page<Location>> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'locations:read');
    const query = readQuery();
    const where: Record<string, unknown> = { teamId };
    if (query.locationType) where.locationType = query.locationType;
    if (query.q) where.name = { $ilike: containsPattern(query.q) };
    const [items, total] = await this.orm.em.fork().findAndCount(Location, where, {
      // The id tie-breaker keeps pages stable when sort values repeat.
      orderBy: [{ [SORT_PROPERTIES[query.sortBy]]: query.sortOrder }, { id: query.sortOrder }],
      limit: query.limit,
      offset: query.offset,
    });
    return { items, total };
  }

  /**
   * The secrets of the given ids in the team, for `Location.secret` (batched per GraphQL request).
   * Reading a secret needs `secrets:read`, whichever door it is reached through.
   */
  async secretsByIds(actor: Actor, teamId: string, secretIds: string[]): Promise<Map<string, SecretView>> {
    authorize(actor, teamId, 'secrets:read');
    const ids = secretIds.filter(isUuid).map((id) => id.toLowerCase());
    if (ids.length === 0) return new Map();
    const secrets = await this.orm.em.fork().find(Secret, { id: { $in: ids }, teamId });
    return new Map(secrets.map((s) => [s.id, secretView(s)]));
  }

  async create(actor: Actor, meta: RequestMeta, teamIdParam: string, body: unknown): Promise<Location> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'locations:create');
    const input = parseOrThrow(createLocationSchema, body);
    const endpointIssues = checkEndpointUrl(input.location_type, input.endpoint_url);
    if (endpointIssues.length) throw new ValidationError(endpointIssues);

    return unitOfWork(this.orm, async (em) => {
      const secret = await this.findMatchingSecret(em, teamId, input.secret_id, input.location_type);
      await this.assertNameFree(em, teamId, input.name);
      const now = new Date();
      const location = em.create(Location, {
        id: randomUUID(),
        teamId,
        name: input.name,
        description: input.description ?? null,
        locationType: input.location_type,
        secret,
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

  async update(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    locationIdParam: string,
    body: unknown,
  ): Promise<Location> {
    const { teamId, locationId } = this.ids(teamIdParam, locationIdParam);
    authorize(actor, teamId, 'locations:update');
    const patch = parseOrThrow(updateLocationSchema, body);

    return unitOfWork(this.orm, async (em) => {
      // The row lock serializes concurrent updates of one location: each sees the previous one's result.
      const location = await em.findOne(
        Location,
        { id: locationId, teamId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!location) throw new NotFoundError('Location not found');

      const next: Partial<Pick<Location, (typeof UPDATABLE)[number][1]>> = {};
      if (patch.name != null) next.name = patch.name;
      if (patch.description !== undefined) next.description = patch.description;
      if (patch.bucket_name != null) next.bucketName = patch.bucket_name;
      if (patch.region !== undefined) next.region = patch.region;
      if (patch.endpoint_url !== undefined) {
        const issues = checkEndpointUrl(location.locationType, patch.endpoint_url);
        if (issues.length) throw new ValidationError(issues);
        next.endpointUrl = patch.endpoint_url;
      }
      const secret =
        patch.secret_id == null
          ? undefined
          : await this.findMatchingSecret(em, teamId, patch.secret_id, location.locationType);

      const changed: string[] = UPDATABLE.filter(
        ([, key]) => next[key] !== undefined && next[key] !== (location[key] ?? null),
      ).map(([field]) => field);
      if (secret && secret.id !== location.secret.id) {
        changed.push('secret_id');
        location.secret = ref(secret);
      }
      if (changed.length === 0) return location;
      if (next.name !== undefined && next.name !== location.name) {
        await this.assertNameFree(em, teamId, next.name);
      }
      em.assign(location, next);
      location.updatedAt = new Date();
      location.updatedBy = actor.userId;
      recordAudit(em, actor, meta, {
        eventType: 'location_updated',
        resourceType: 'location',
        resourceId: location.id,
        resourceName: location.name,
        changedFields: changed,
      });
      return location;
    });
  }

  async delete(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    locationIdParam: string,
  ): Promise<string> {
    const { teamId, locationId } = this.ids(teamIdParam, locationIdParam);
    authorize(actor, teamId, 'locations:delete');
    return unitOfWork(this.orm, async (em) => {
      const location = await em.findOne(
        Location,
        { id: locationId, teamId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!location) throw new NotFoundError('Location not found');
      em.remove(location);
      recordAudit(em, actor, meta, {
        eventType: 'location_deleted',
        resourceType: 'location',
        resourceId: location.id,
        resourceName: location.name,
      });
      return location.id;
    });
  }

  private ids(teamIdParam: string, locationIdParam: string) {
    const ids = parsePathIds({ team_id: teamIdParam, location_id: locationIdParam });
    return { teamId: ids.team_id, locationId: ids.location_id };
  }

  /** A secret of the team whose type is the location's, held FOR SHARE so its type cannot change under us. */
  private async findMatchingSecret(
    em: EntityManager,
    teamId: string,
    secretId: string,
    locationType: SecretType,
  ): Promise<Secret> {
    // FOR SHARE: a concurrent secret_type change waits for this transaction, then sees the location.
    const secret = isUuid(secretId)
      ? await em.findOne(
          Secret,
          { id: secretId.toLowerCase(), teamId },
          { lockMode: LockMode.PESSIMISTIC_READ },
        )
      : null;
    if (!secret) throw ValidationError.single(['secret_id'], 'No secret with this id in the team');
    if (secret.secretType !== locationType) {
      throw ValidationError.single(
        ['secret_id'],
        `The secret's type '${secret.secretType}' does not match location_type '${locationType}'`,
      );
    }
    return secret;
  }

  private async assertNameFree(em: EntityManager, teamId: string, name: string): Promise<void> {
    if (await em.count(Location, { teamId, name })) {
      throw new ConflictError(`A location named '${name}' already exists in the team`);
    }
  }
}
