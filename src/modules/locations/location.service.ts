import { type EntityManager, type MikroORM, ref } from '@mikro-orm/postgresql';
import { NotFoundError } from '../../domain/errors.js';
import { byId } from '../../domain/ids.js';
import type { SecretType } from '../../domain/providers.js';
import { type Actor, authorize, type RequestMeta } from '../../domain/scopes.js';
import { changedBy, newNamedResource } from '../../platform/db/columns.js';
import { WritableResourceService } from '../../platform/team-resource-service.js';
import { auditOf } from '../audit/audit.repository.js';
import type { Secret } from '../secrets/secret.entity.js';
import { SecretRepository, type SecretView } from '../secrets/secret.repository.js';
import { Location } from './location.entity.js';
import {
  type LocationDetail,
  type LocationListQuery,
  LocationRepository,
  type LocationView,
  locationView,
} from './location.repository.js';
import {
  type CreateLocationCommand,
  checkEndpointUrl,
  checkLinkedSecret,
  createdFields,
  locationNameTaken,
  planLocationUpdate,
  type UpdateLocationCommand,
} from './location.rules.js';

const audit = auditOf('location');

/** A location of a team; both ids are validated (and lower-cased) by the door. */
export interface LocationIds {
  teamId: string;
  locationId: string;
}

/** Every location use case, shared by the REST and GraphQL doors. */
export class LocationService extends WritableResourceService<
  Location,
  LocationView,
  LocationListQuery,
  'locationId'
> {
  readonly repository: LocationRepository;
  private readonly secrets: SecretRepository;

  constructor(orm: MikroORM) {
    super(orm, {
      readScope: 'locations:read',
      deleteScope: 'locations:delete',
      idKey: 'locationId',
      notFound,
      audit,
    });
    this.repository = new LocationRepository(orm);
    this.secrets = new SecretRepository(orm);
  }

  /** The location with the name of its secret (the REST detail view). */
  async getDetail(actor: Actor, { teamId, locationId }: LocationIds): Promise<LocationDetail> {
    authorize(actor, teamId, 'locations:read');
    return (await this.repository.detail(teamId, locationId)) ?? notFound();
  }

  /** The team's locations that use each of the secrets (`Secret.locations`, batched per GraphQL request). */
  async bySecrets(
    actor: Actor,
    teamId: string,
    secretIds: readonly string[],
  ): Promise<Map<string, LocationView[]>> {
    authorize(actor, teamId, 'locations:read');
    return this.repository.bySecrets(teamId, secretIds);
  }

  /**
   * The secrets of the given (stored, hence valid) ids in the team, for `Location.secret` (batched per
   * GraphQL request). Reading a secret needs `secrets:read`, whichever door it is reached through.
   */
  async secretsByIds(actor: Actor, teamId: string, secretIds: string[]): Promise<Map<string, SecretView>> {
    authorize(actor, teamId, 'secrets:read');
    return byId(await this.secrets.findMany(teamId, secretIds));
  }

  async create(
    actor: Actor,
    meta: RequestMeta,
    teamId: string,
    command: CreateLocationCommand,
  ): Promise<LocationView> {
    authorize(actor, teamId, 'locations:create');
    checkEndpointUrl(command.locationType, command.endpointUrl);
    const location = await this.insertAudited(actor, meta, createdFields(command), async (em, tx) => {
      const secret = await this.lockLinkedSecret(em, teamId, command.secretId, command.locationType);
      if (await this.repository.nameTaken(tx.sql, teamId, command.name)) {
        throw locationNameTaken(command.name);
      }
      return em.create(Location, {
        ...newNamedResource(teamId, command, actor.userId),
        locationType: command.locationType,
        secret,
        bucketName: command.bucketName,
        region: command.region ?? null,
        endpointUrl: command.endpointUrl ?? null,
      });
    });
    return locationView(location);
  }

  async update(
    actor: Actor,
    meta: RequestMeta,
    ids: LocationIds,
    command: UpdateLocationCommand,
  ): Promise<LocationView> {
    const { teamId } = ids;
    authorize(actor, teamId, 'locations:update');
    const location = await this.changeLocked(ids, async (em, location, tx) => {
      const { secretId, changedFields, ...change } = planLocationUpdate(locationView(location), command);
      const secret =
        command.secretId === undefined
          ? undefined
          : await this.lockLinkedSecret(em, teamId, command.secretId, location.locationType);
      if (changedFields.length === 0) return;
      if (change.name !== undefined && (await this.repository.nameTaken(tx.sql, teamId, change.name))) {
        throw locationNameTaken(change.name);
      }
      em.assign(location, { ...change, ...changedBy(actor.userId) });
      if (secretId !== undefined) location.secret = ref(secret!);
      audit(em, actor, meta, 'updated', location, changedFields);
    });
    return locationView(location);
  }

  /** The secret a location of `locationType` is to use: the team's, of that type, held FOR SHARE. */
  private async lockLinkedSecret(
    em: EntityManager,
    teamId: string,
    secretId: string,
    locationType: SecretType,
  ): Promise<Secret> {
    const secret = await this.repository.lockSecretForShare(em, teamId, secretId);
    checkLinkedSecret(secret, locationType);
    return secret;
  }
}

function notFound(): never {
  throw new NotFoundError('Location not found');
}

declare module '../../platform/services.js' {
  interface Services {
    locations: LocationService;
  }
}
