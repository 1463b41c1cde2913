import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { FilteredListQuery } from '../../domain/paging.js';
import type { SecretType } from '../../domain/providers.js';
import type { Actor } from '../../domain/scopes.js';
import type { VaultType } from '../../domain/vaults.js';
import { namedResourceViews, type RowOf } from '../../platform/db/columns.js';
import { TunedNamedResourceRepository } from '../../platform/db/named-resource-repository.js';
import { autocommit, type Sql } from '../../platform/db/unit-of-work.js';
import { Secret, SecretVersion } from './secret.entity.js';

/** A secret with what depends on it and who touched it: the detail view. */
export interface SecretDetail {
  secret: SecretView;
  locations: { id: string; name: string; locationType: SecretType }[];
  vaultConnection: { id: string; name: string; vaultType: VaultType } | null;
  createdByEmail: string | null;
  updatedByEmail: string | null;
}

export type SecretListQuery = FilteredListQuery<SecretView, 'secretType'>;

const SECRET_VIEWS = namedResourceViews<Secret>()(
  ['secretType', 'authMethod', 'storage', 'vaultConnectionId', 'fieldMappings', 'version'],
  { vaultConnectionId: 'vaultConnection' },
);
/** A secret as the doors show it: plain data, never credentials. */
export const secretView = SECRET_VIEWS.view;
export type SecretView = ReturnType<typeof secretView>;
const viewFromRow = SECRET_VIEWS.fromRow;

/**
 * Every SQL statement about secrets. Reads are tuned statements (prepared on a PostgreSQL server);
 * writes go through the unit of work: `load` attaches the row to its EntityManager, which flushes it.
 */
export class SecretRepository extends TunedNamedResourceRepository<
  Secret,
  SecretRow,
  SecretView,
  SecretListQuery
> {
  constructor(orm: MikroORM) {
    super(orm, {
      entity: Secret,
      view: secretView,
      filter: 'secretType',
      loadOne: LOAD_SECRET,
      loadMany: LOAD_SECRETS,
      viewFromRow,
    });
  }

  /**
   * The team's secret as a managed entity of `em` (read with one prepared statement, attached with
   * `em.map`), with its vault type; `lock` holds its row lock until the unit of work ends. Null when
   * there is none.
   */
  async load(
    em: EntityManager,
    sql: Sql,
    teamId: string,
    secretId: string,
    lock: boolean,
  ): Promise<{ secret: Secret; vaultType: VaultType | null } | null> {
    const [row] = await sql<SecretRow>(lock ? LOAD_SECRET_FOR_UPDATE : LOAD_SECRET, [secretId, teamId]);
    if (!row) return null;
    const { vault_type: vaultType, ...columns } = row;
    return { secret: em.map(Secret, columns), vaultType };
  }

  /** The secret with its locations, vault connection and the emails of its creator and last editor: one statement. */
  async detail(teamId: string, secretId: string): Promise<SecretDetail | null> {
    const [row] = await autocommit(this.orm)<DetailRow>(LOAD_SECRET_DETAIL, [secretId, teamId]);
    if (!row) return null;
    return {
      secret: viewFromRow(row),
      locations: row.locations,
      vaultConnection: row.vault_connection_id
        ? { id: row.vault_connection_id, name: row.vault_connection_name!, vaultType: row.vault_type! }
        : null,
      createdByEmail: row.created_by_email,
      updatedByEmail: row.updated_by_email,
    };
  }

  /** How many locations use each secret, in one statement. */
  async locationCounts(secretIds: readonly string[]): Promise<Map<string, number>> {
    if (secretIds.length === 0) return new Map();
    const rows = await autocommit(this.orm)<{ secret_id: string; count: string }>(
      'select secret_id, count(*) as count from locations where secret_id = any($1) group by secret_id',
      [secretIds],
    );
    return new Map(rows.map((r) => [r.secret_id, Number(r.count)]));
  }

  async nameTaken(sql: Sql, teamId: string, name: string): Promise<boolean> {
    return (await sql('select 1 from secrets where team_id = $1 and name = $2', [teamId, name])).length > 0;
  }

  /** The locations that use the secret, by name. */
  linkedLocations(sql: Sql, secretId: string): Promise<LinkedLocation[]> {
    return sql('select id, name, location_type from locations where secret_id = $1 order by name', [
      secretId,
    ]);
  }

  /** The secrets that read their credentials through a vault connection, by name. */
  async secretsUsing(em: EntityManager, connectionId: string): Promise<{ id: string; name: string }[]> {
    const secrets = await em.find(
      Secret,
      { vaultConnection: connectionId },
      { fields: ['id', 'name'], orderBy: { name: 'asc' } },
    );
    return secrets.map((s) => ({ id: s.id, name: s.name }));
  }
}

export interface LinkedLocation {
  id: string;
  name: string;
  location_type: SecretType;
}

/** A secret row of a tuned statement: its view's columns, its credential's (never in a view), its vault's type. */
type SecretRow = RowOf<SecretView> & {
  credential_ref: string | null;
  credential_version: number | null;
  vault_type: VaultType | null;
};

/**
 * A secret row's columns (`SecretRow`), from `secrets s left join vault_connections vc`. Listed, not
 * `s.*`: a prepared statement's result columns must not change under it.
 */
const SECRET_COLUMNS = `s.id, s.team_id, s.name, s.description, s.secret_type, s.auth_method, s.storage,
    s.credential_ref, s.credential_version, s.vault_connection_id, s.field_mappings, s.version,
    s.created_at, s.created_by, s.updated_at, s.updated_by, vc.vault_type`;
const SELECT_SECRETS = `select ${SECRET_COLUMNS}
  from secrets s
  left join vault_connections vc on vc.id = s.vault_connection_id`;

const LOAD_SECRET = `${SELECT_SECRETS} where s.id = $1 and s.team_id = $2`;
const LOAD_SECRET_FOR_UPDATE = `${LOAD_SECRET} for update of s`;
const LOAD_SECRETS = `${SELECT_SECRETS} where s.id = any($1) and s.team_id = $2`;

interface DetailRow extends SecretRow {
  vault_connection_name: string | null;
  created_by_email: string | null;
  updated_by_email: string | null;
  locations: SecretDetail['locations'];
}

const LOAD_SECRET_DETAIL = `select ${SECRET_COLUMNS}, vc.name as vault_connection_name,
    cu.email as created_by_email, uu.email as updated_by_email,
    coalesce((select json_agg(json_build_object('id', l.id, 'name', l.name, 'locationType', l.location_type)
        order by l.name)
      from locations l where l.secret_id = s.id), '[]') as locations
  from secrets s
  left join vault_connections vc on vc.id = s.vault_connection_id
  left join users cu on cu.id = s.created_by
  left join users uu on uu.id = s.updated_by
  where s.id = $1 and s.team_id = $2`;

/**
 * Adds the history entry of an accepted change to the change's unit of work: `version` is the
 * secret's version after the change. Never a credential value.
 */
export function recordVersion(
  em: EntityManager,
  secret: Secret,
  version: number,
  changedFields: string[],
  actor: Actor,
): void {
  em.create(SecretVersion, {
    secretId: secret.id,
    version,
    changedFields,
    secretType: secret.secretType,
    authMethod: secret.authMethod,
    credentialVersion: secret.credentialVersion ?? null,
    fieldMappings: secret.fieldMappings ?? null,
    actorUserId: actor.userId,
    actorApiKeyId: actor.apiKeyId,
    createdAt: secret.updatedAt,
  });
}
