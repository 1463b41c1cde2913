import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { FilteredListQuery } from '../../domain/paging.js';
import { namedResourceViews } from '../../platform/db/columns.js';
import { NamedResourceRepository } from '../../platform/db/named-resource-repository.js';
import { autocommit } from '../../platform/db/unit-of-work.js';
import { VaultConnection } from './vault-connection.entity.js';

export type VaultConnectionListQuery = FilteredListQuery<VaultConnectionView, 'vaultType'>;

/**
 * A vault connection as the doors show it: plain data, never its token or client secret. Its
 * `settings` are the non-secret settings of its vault type, by stored name (`project`, `client_id`, ...).
 */
export const vaultConnectionView = namedResourceViews<VaultConnection>()([
  'vaultType',
  'settings',
  'lastVerifiedAt',
]).view;
export type VaultConnectionView = ReturnType<typeof vaultConnectionView>;

/** Every query about vault connections; writes go through the unit of work (`lockForWrite`). */
export class VaultConnectionRepository extends NamedResourceRepository<
  VaultConnection,
  VaultConnectionView,
  VaultConnectionListQuery
> {
  constructor(orm: MikroORM) {
    super(orm, { entity: VaultConnection, view: vaultConnectionView, filter: 'vaultType' });
  }

  /** How many of the team's secrets use each connection (0 for none), in one statement. */
  async secretCounts(teamId: string, connectionIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map(connectionIds.map((id) => [id, 0]));
    if (connectionIds.length === 0) return counts;
    const rows = await autocommit(this.orm)<{ id: string; n: number }>(
      `select vault_connection_id as id, count(*)::int as n from secrets
        where team_id = $1 and vault_connection_id = any($2)
        group by vault_connection_id`,
      [teamId, connectionIds],
    );
    for (const row of rows) counts.set(row.id, Number(row.n));
    return counts;
  }

  async nameTaken(em: EntityManager, teamId: string, name: string): Promise<boolean> {
    return (await em.count(VaultConnection, { teamId, name })) > 0;
  }
}
