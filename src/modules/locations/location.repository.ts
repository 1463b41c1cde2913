import { type EntityManager, LockMode, type MikroORM } from '@mikro-orm/postgresql';
import { isUuid } from '../../domain/ids.js';
import type { FilteredListQuery } from '../../domain/paging.js';
import { namedResourceViews, type RowOf } from '../../platform/db/columns.js';
import { TunedNamedResourceRepository } from '../../platform/db/named-resource-repository.js';
import { autocommit, type Sql } from '../../platform/db/unit-of-work.js';
import { Secret } from '../secrets/secret.entity.js';
import { Location } from './location.entity.js';

/** A location with the name of the secret it uses: the detail view. */
export interface LocationDetail {
  location: LocationView;
  secretName: string | null;
}

export type LocationListQuery = FilteredListQuery<LocationView, 'locationType'>;

const LOCATION_VIEWS = namedResourceViews<Location>()(
  ['locationType', 'secretId', 'bucketName', 'region', 'endpointUrl'],
  { secretId: 'secret' },
);
/** A location as the doors show it: plain data (GraphQL idempotent replays store it as JSON). */
export const locationView = LOCATION_VIEWS.view;
export type LocationView = ReturnType<typeof locationView>;
/** A location row of a tuned statement (its columns: `LOCATION_COLUMNS`). */
type LocationRow = RowOf<LocationView>;
const viewFromRow = LOCATION_VIEWS.fromRow;

/**
 * Every SQL statement about locations. Reads are tuned statements (prepared on a PostgreSQL server)
 * or ORM queries; writes go through the unit of work, whose EntityManager loads and flushes entities.
 */
export class LocationRepository extends TunedNamedResourceRepository<
  Location,
  LocationRow,
  LocationView,
  LocationListQuery
> {
  constructor(orm: MikroORM) {
    super(orm, {
      entity: Location,
      view: locationView,
      filter: 'locationType',
      loadOne: LOAD_LOCATION,
      loadMany: LOAD_LOCATIONS,
      viewFromRow,
    });
  }

  /**
   * The team's secret of this id (as sent: null when it is none), managed by `em` and held FOR SHARE:
   * a concurrent secret_type change waits for this unit of work, then sees the location that uses it.
   */
  async lockSecretForShare(em: EntityManager, teamId: string, secretId: string): Promise<Secret | null> {
    if (!isUuid(secretId)) return null;
    return em.findOne(
      Secret,
      { id: secretId.toLowerCase(), teamId },
      { lockMode: LockMode.PESSIMISTIC_READ },
    );
  }

  async nameTaken(sql: Sql, teamId: string, name: string): Promise<boolean> {
    return (await sql('select 1 from locations where team_id = $1 and name = $2', [teamId, name])).length > 0;
  }

  /** The location with the name of its secret: one statement. */
  async detail(teamId: string, locationId: string): Promise<LocationDetail | null> {
    const [row] = await autocommit(this.orm)<LocationRow & { secret_name: string | null }>(
      LOAD_LOCATION_DETAIL,
      [locationId, teamId],
    );
    return row ? { location: viewFromRow(row), secretName: row.secret_name } : null;
  }

  /** The team's locations that use each of the secrets, by name: one statement for them all. */
  async bySecrets(teamId: string, secretIds: readonly string[]): Promise<Map<string, LocationView[]>> {
    const bySecret = new Map(secretIds.map((id) => [id, [] as LocationView[]]));
    if (secretIds.length === 0) return bySecret;
    const rows = await autocommit(this.orm)<LocationRow>(
      `${SELECT_LOCATIONS} where l.team_id = $1 and l.secret_id = any($2) order by l.name`,
      [teamId, secretIds],
    );
    for (const row of rows) bySecret.get(row.secret_id)?.push(viewFromRow(row));
    return bySecret;
  }
}

/** A location row's columns (`LocationRow`). Listed, not `l.*`: a prepared statement's result columns must not change under it. */
const LOCATION_COLUMNS = `l.id, l.team_id, l.name, l.description, l.location_type, l.secret_id, l.bucket_name,
    l.region, l.endpoint_url, l.created_at, l.created_by, l.updated_at, l.updated_by`;
const SELECT_LOCATIONS = `select ${LOCATION_COLUMNS} from locations l`;

const LOAD_LOCATION = `${SELECT_LOCATIONS} where l.id = $1 and l.team_id = $2`;
const LOAD_LOCATIONS = `${SELECT_LOCATIONS} where l.id = any($1) and l.team_id = $2`;

const LOAD_LOCATION_DETAIL = `select ${LOCATION_COLUMNS}, s.name as secret_name
  from locations l
  left join secrets s on s.id = l.secret_id and s.team_id = l.team_id
  where l.id = $1 and l.team_id = $2`;
