import type { EntityName, FilterQuery, MikroORM } from '@mikro-orm/postgresql';
import {
  type NamedResourceListQuery,
  nameContains,
  type Page,
  pageFindOptions,
} from '../../domain/paging.js';

/**
 * A list page of named resources (secrets, locations, vault connections, webhooks): those that
 * match `where` (their team and the resource's own filters) and the name search, as views.
 */
export async function findNamedResourcePage<Entity extends object, View>(
  orm: MikroORM,
  entity: EntityName<Entity>,
  where: FilterQuery<Entity>,
  query: NamedResourceListQuery,
  view: (entity: Entity) => View,
): Promise<Page<View>> {
  const [items, total] = await orm.em
    .fork()
    .findAndCount(entity, { ...where, ...nameContains(query.q) }, pageFindOptions(query));
  return { items: items.map(view), total };
}
