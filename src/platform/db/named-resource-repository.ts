import {
  type EntityManager,
  type EntityName,
  type FilterQuery,
  LockMode,
  type MikroORM,
} from '@mikro-orm/postgresql';
import type { NamedResourceListQuery, Page } from '../../domain/paging.js';
import { findNamedResourcePage } from './pages.js';
import { autocommit } from './unit-of-work.js';

/** What a `NamedResourceRepository` is told of its kind of resources. */
export interface NamedResource<Entity, View, Query> {
  entity: EntityName<Entity>;
  /** The view the doors show of an entity. */
  view: (entity: Entity) => View;
  /** The column its list can be filtered on, by the query's value of the same name (`locationType`): its query's filter. */
  filter?: Exclude<keyof Query, keyof NamedResourceListQuery> & keyof Entity & string;
}

/**
 * The statements every named resource of a team (secrets, locations, vault connections, webhooks)
 * has, as ORM queries: one of the team's by id, some by ids, a list page (the name search and the
 * kind's filter), and the row lock a change takes.
 */
export abstract class NamedResourceRepository<
  Entity extends object,
  View,
  Query extends NamedResourceListQuery,
> {
  protected constructor(
    protected readonly orm: MikroORM,
    private readonly resource: NamedResource<Entity, View, Query>,
  ) {}

  async find(teamId: string, id: string): Promise<View | null> {
    const entity = await this.orm.em.fork().findOne(this.resource.entity, this.teamsOwn(teamId, id));
    return entity ? this.resource.view(entity) : null;
  }

  /** The team's resources among `ids` (lookups by id alone). */
  async findMany(teamId: string, ids: readonly string[]): Promise<View[]> {
    if (ids.length === 0) return [];
    const found = await this.orm.em
      .fork()
      .find(this.resource.entity, this.teamsOwn(teamId, { $in: [...ids] }));
    return found.map(this.resource.view);
  }

  list(teamId: string, query: Query): Promise<Page<View>> {
    const { filter } = this.resource;
    const where = { teamId, ...(filter && query[filter] && { [filter]: query[filter] }) };
    return findNamedResourcePage(
      this.orm,
      this.resource.entity,
      where as FilterQuery<Entity>,
      query,
      this.resource.view,
    );
  }

  /** The team's resource, managed by `em`, row-locked until the unit of work ends; null when there is none. */
  lockForWrite(em: EntityManager, teamId: string, id: string): Promise<Entity | null> {
    return em.findOne(this.resource.entity, this.teamsOwn(teamId, id), {
      lockMode: LockMode.PESSIMISTIC_WRITE,
    });
  }

  private teamsOwn(teamId: string, id: string | { $in: string[] }): FilterQuery<Entity> {
    return { id, teamId } as FilterQuery<Entity>;
  }
}

/** The statements of a `TunedNamedResourceRepository`'s reads by id, and how it renders their rows. */
export interface TunedReads<Row, View> {
  /** One of the team's by id: `$1` the id, `$2` the team. */
  loadOne: string;
  /** The team's among ids: `$1` the ids, `$2` the team. */
  loadMany: string;
  viewFromRow: (row: Row) => View;
}

/**
 * A `NamedResourceRepository` whose reads by id are tuned statements (prepared on a PostgreSQL
 * server) rather than ORM queries.
 */
export abstract class TunedNamedResourceRepository<
  Entity extends object,
  Row,
  View,
  Query extends NamedResourceListQuery,
> extends NamedResourceRepository<Entity, View, Query> {
  private readonly tuned: TunedReads<Row, View>;

  protected constructor(
    orm: MikroORM,
    {
      loadOne,
      loadMany,
      viewFromRow,
      ...resource
    }: NamedResource<Entity, View, Query> & TunedReads<Row, View>,
  ) {
    super(orm, resource);
    this.tuned = { loadOne, loadMany, viewFromRow };
  }

  override async find(teamId: string, id: string): Promise<View | null> {
    const [row] = await autocommit(this.orm)<Row>(this.tuned.loadOne, [id, teamId]);
    return row ? this.tuned.viewFromRow(row) : null;
  }

  override async findMany(teamId: string, ids: readonly string[]): Promise<View[]> {
    if (ids.length === 0) return [];
    const rows = await autocommit(this.orm)<Row>(this.tuned.loadMany, [ids, teamId]);
    return rows.map(this.tuned.viewFromRow);
  }
}
