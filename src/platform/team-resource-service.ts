import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { byId } from '../domain/ids.js';
import type { Page } from '../domain/paging.js';
import { type Actor, authorize, type RequestMeta, type Scope } from '../domain/scopes.js';
import { type Tx, unitOfWork } from './db/unit-of-work.js';

/** A service's list use case: every feature's has this signature (both doors call it). */
export interface TeamList<Query, T> {
  list(actor: Actor, teamId: string, query: Query): Promise<Page<T>>;
}

/** A service's read of one item: every feature's has this signature (both doors call it). */
export interface TeamGet<Ids, T> {
  get(actor: Actor, ids: Ids): Promise<T>;
}

/** A service's create use case: every feature's has this signature. */
export interface TeamCreate<Command, T> {
  create(actor: Actor, meta: RequestMeta, teamId: string, command: Command): Promise<T>;
}

/** What the reads of a `TeamResourceService` ask of its repository. */
export interface TeamResourceReads<View, Query> {
  find(teamId: string, id: string): Promise<View | null>;
  list(teamId: string, query: Query): Promise<Page<View>>;
}

/** The ids of a team's resource: the team's, and the resource's own under `IdKey` (`locationId`). */
export type TeamResourceIds<IdKey extends string> = { teamId: string } & Record<IdKey, string>;

/** What a `TeamResourceService` is told of its kind of resources. */
export interface TeamResource<IdKey extends string> {
  /** The scope every read needs (`locations:read`). */
  readScope: Scope;
  /** Where its ids hold the resource's own id (`locationId`). */
  idKey: IdKey;
  /** Throws the 404 of a resource the team does not have. */
  notFound: () => never;
}

/**
 * The service of one kind of a team's resources (secrets, locations, vault connections, webhooks, API
 * keys), with the reads each kind offers both doors alike: one by id (404 where the team has none of
 * that id) and a list page, each behind the kind's read scope. Its subclass adds the kind's own use cases.
 */
export abstract class TeamResourceService<View, Query, IdKey extends string>
  implements TeamList<Query, View>, TeamGet<TeamResourceIds<IdKey>, View>
{
  abstract readonly repository: TeamResourceReads<View, Query>;

  protected constructor(protected readonly resource: TeamResource<IdKey>) {}

  async get(actor: Actor, ids: TeamResourceIds<IdKey>): Promise<View> {
    authorize(actor, ids.teamId, this.resource.readScope);
    return (await this.repository.find(ids.teamId, ids[this.resource.idKey])) ?? this.resource.notFound();
  }

  async list(actor: Actor, teamId: string, query: Query): Promise<Page<View>> {
    authorize(actor, teamId, this.resource.readScope);
    return this.repository.list(teamId, query);
  }

  /**
   * Federation entity lookup by (valid, lower-case) id alone: the caller's team's resources among
   * `ids`. For the kinds that are federation entities, whose repository finds many by id.
   */
  async findForActor(
    this: TeamResourceService<View, Query, IdKey> & {
      repository: { findMany(teamId: string, ids: readonly string[]): Promise<(View & { id: string })[]> };
    },
    actor: Actor,
    ids: readonly string[],
  ): Promise<Map<string, View>> {
    authorize(actor, actor.teamId, this.resource.readScope);
    return byId(await this.repository.findMany(actor.teamId, ids));
  }
}

/** Adds a resource's audit event to the unit of work (`auditOf` of its resource type). */
type Audit = (
  em: EntityManager,
  actor: Actor,
  meta: RequestMeta,
  action: string,
  resource: { id: string; name: string },
  changedFields?: string[],
) => void;

/**
 * The service of a kind of resources with the writes they share (locations, vault connections,
 * webhooks): each is created with its audit event, and changed or deleted in one unit of work under
 * its row lock, so concurrent changes of one resource take turns, each seeing the one before's result.
 */
export abstract class WritableResourceService<
  Row extends { id: string; name: string },
  View,
  Query,
  IdKey extends string,
> extends TeamResourceService<View, Query, IdKey> {
  abstract override readonly repository: TeamResourceReads<View, Query> & {
    /** The team's resource, managed by `em`, row-locked until its unit of work ends; null when there is none. */
    lockForWrite(em: EntityManager, teamId: string, id: string): Promise<Row | null>;
  };

  private readonly deleteScope: Scope;
  private readonly audit: Audit;

  protected constructor(
    protected readonly orm: MikroORM,
    { deleteScope, audit, ...resource }: TeamResource<IdKey> & { deleteScope: Scope; audit: Audit },
  ) {
    super(resource);
    this.deleteScope = deleteScope;
    this.audit = audit;
  }

  /**
   * Adds the resource `build` creates in `em`, in one unit of work, with its audit event
   * (`createdFields`: the fields it was given). Returns it once committed.
   */
  protected insertAudited(
    actor: Actor,
    meta: RequestMeta,
    createdFields: string[],
    build: (em: EntityManager, tx: Tx) => Promise<Row>,
  ): Promise<Row> {
    return unitOfWork(this.orm, async (em, tx) => {
      const created = await build(em, tx);
      this.audit(em, actor, meta, 'created', created, createdFields);
      return created;
    });
  }

  /**
   * Deletes the team's resource in one unit of work, under its row lock, with its audit event; 404
   * where the team has none of that id.
   */
  async delete(actor: Actor, meta: RequestMeta, ids: TeamResourceIds<IdKey>): Promise<void> {
    authorize(actor, ids.teamId, this.deleteScope);
    await this.changeLocked(ids, async (em, row, tx) => {
      await this.beforeDelete(em, row, tx);
      em.remove(row);
      this.audit(em, actor, meta, 'deleted', row);
    });
  }

  /** What a delete does first, on the locked row (refuse it, queue what goes with it): nothing by default. */
  protected async beforeDelete(_em: EntityManager, _row: Row, _tx: Tx): Promise<void> {}

  /**
   * `change` applied to the team's resource in one unit of work, under its row lock; 404 where the
   * team has none of that id. The caller has authorized it. Returns the resource as changed.
   */
  protected changeLocked(
    ids: TeamResourceIds<IdKey>,
    change: (em: EntityManager, row: Row, tx: Tx) => Promise<void>,
  ): Promise<Row> {
    return unitOfWork(this.orm, async (em, tx) => {
      const row =
        (await this.repository.lockForWrite(em, ids.teamId, ids[this.resource.idKey])) ??
        this.resource.notFound();
      await change(em, row, tx);
      return row;
    });
  }
}
