import { randomUUID } from 'node:crypto';
import {
  type EntityManager,
  ForeignKeyConstraintViolationException,
  LockMode,
  type MikroORM,
} from '@mikro-orm/postgresql';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.js';
import { type Actor, authorize, type RequestMeta } from '../auth/scopes.js';
import { type CredentialCleanup, queueCredentialDeletion } from '../credentials/cleanup.js';
import {
  type CredentialStore,
  type CredentialValue,
  vaultConnectionRef,
} from '../credentials/credential-store.js';
import { unitOfWork } from '../db/unit-of-work.js';
import { ConflictError, type Issue, NotFoundError, ValidationError } from '../domain/errors.js';
import { isUuid, parsePathIds } from '../domain/ids.js';
import { containsPattern, type ListQuery, type Page } from '../domain/paging.js';
import { assertStorable, parseOrThrow, zodIssueToIssues } from '../domain/validation.js';
import { VAULT_TYPES, type VaultType } from '../domain/vaults.js';
import { Secret, VaultConnection, type VaultSettings } from '../entities/index.js';
import { descriptionSchema, nameSchema } from '../secrets/secret-rules.js';
import { assertWithinPlan } from '../teams/plan-limits.js';

const common = { name: nameSchema, description: descriptionSchema.nullish() };
const text = (max: number) => z.string().min(1).max(max);

/** The write-only fields, shared by create and rotate so both apply the same rules. */
const TOKENS = {
  onepassword: text(4096).startsWith('ops_', 'A 1Password service account token starts with ops_'),
  doppler: text(4096).startsWith('dp.st.', 'A Doppler service token starts with dp.st.'),
  infisicalClientSecret: text(1000),
};

/** Per vault type: the body it takes, and which of those fields are secrets (kept in the credential store). */
export const VAULT_INPUTS = {
  onepassword: {
    schema: z.strictObject({
      ...common,
      vault_type: z.literal('onepassword'),
      access_token: TOKENS.onepassword,
    }),
    secretFields: ['access_token'],
    /** POST .../rotate: the new secret value, nothing else. */
    rotate: z.strictObject({ access_token: TOKENS.onepassword }),
  },
  doppler: {
    schema: z.strictObject({
      ...common,
      vault_type: z.literal('doppler'),
      access_token: TOKENS.doppler,
      project: text(255),
      config: text(255),
    }),
    secretFields: ['access_token'],
    rotate: z.strictObject({ access_token: TOKENS.doppler }),
  },
  infisical: {
    schema: z.strictObject({
      ...common,
      vault_type: z.literal('infisical'),
      client_id: text(255),
      client_secret: TOKENS.infisicalClientSecret,
      project_id: text(255),
      environment: text(100),
      secret_path: text(500).nullish(),
    }),
    secretFields: ['client_secret'],
    rotate: z.strictObject({ client_secret: TOKENS.infisicalClientSecret }),
  },
} as const;

/** The non-secret settings each vault type keeps on the row (and shows in the detail view). */
export const VAULT_SETTINGS: Record<VaultType, readonly string[]> = {
  onepassword: [],
  doppler: ['project', 'config'],
  infisical: ['client_id', 'project_id', 'environment', 'secret_path'],
};

const vaultTypeSchema = z.looseObject({ vault_type: z.enum(VAULT_TYPES) });

/** PATCH body: only `name` (null: unchanged) and `description` (null: cleared). */
export const updateSchema = z.object({
  name: nameSchema.nullish(),
  description: descriptionSchema.nullish(),
});
const UPDATABLE = ['name', 'description'] as const;
const WRITE_ONLY_FIELDS = ['access_token', 'client_secret'];

export const VAULT_CONNECTION_SORTS = ['name', 'created_at', 'updated_at'] as const;
export type VaultConnectionSort = (typeof VAULT_CONNECTION_SORTS)[number];

export interface VaultConnectionListQuery extends ListQuery<VaultConnectionSort> {
  vaultType?: VaultType;
}

const SORT_PROPERTIES = {
  name: 'name',
  created_at: 'createdAt',
  updated_at: 'updatedAt',
} as const satisfies Record<VaultConnectionSort, keyof VaultConnection>;

/** Every vault connection use case, shared by the REST and GraphQL doors. */
export class VaultConnectionService {
  constructor(
    private readonly orm: MikroORM,
    private readonly store: CredentialStore,
    /** When given, drained right after a delete commits (else the worker's interval picks the deletion up). */
    private readonly cleanup?: Pick<CredentialCleanup, 'drain'>,
  ) {}

  async get(actor: Actor, teamIdParam: string, connectionIdParam: string): Promise<VaultConnection> {
    const { teamId, connectionId } = this.ids(teamIdParam, connectionIdParam);
    authorize(actor, teamId, 'vault_connections:read');
    const connection = await this.orm.em.fork().findOne(VaultConnection, { id: connectionId, teamId });
    if (!connection) throw new NotFoundError('Vault connection not found');
    return connection;
  }

  /** Federation entity lookup by id alone: the caller's team's connections among `ids`; others' are absent. */
  async findForActor(actor: Actor, ids: readonly string[]): Promise<Map<string, VaultConnection>> {
    authorize(actor, actor.teamId, 'vault_connections:read');
    const wanted = ids.filter(isUuid).map((id) => id.toLowerCase());
    const rows = wanted.length
      ? await this.orm.em.fork().find(VaultConnection, { id: { $in: wanted }, teamId: actor.teamId })
      : [];
    return new Map(rows.map((row) => [row.id, row]));
  }

  /** `readQuery` parses the door's paging and filter input; it runs after authorization, like body parsing. */
  async list(
    actor: Actor,
    teamIdParam: string,
    readQuery: () => VaultConnectionListQuery,
  ): Promise<Page<VaultConnection>> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'vault_connections:read');
    const query = readQuery();
    const where: Record<string, unknown> = { teamId };
    if (query.vaultType) where.vaultType = query.vaultType;
    if (query.q) where.name = { $ilike: containsPattern(query.q) };
    const [items, total] = await this.orm.em.fork().findAndCount(VaultConnection, where, {
      // The id tie-breaker keeps pages stable when sort values repeat.
      orderBy: [{ [SORT_PROPERTIES[query.sortBy]]: query.sortOrder }, { id: query.sortOrder }],
      limit: query.limit,
      offset: query.offset,
    });
    return { items, total };
  }

  /**
   * How many secrets use each connection. No authorization of its own: callers pass connections
   * they have already been allowed to read (the detail views of both doors; batched on GraphQL).
   */
  async secretCounts(teamId: string, connectionIds: string[]): Promise<Map<string, number>> {
    const ids = [...new Set(connectionIds.filter(isUuid).map((id) => id.toLowerCase()))];
    const counts = new Map(ids.map((id) => [id, 0]));
    if (ids.length === 0) return counts;
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string; n: number }[]>(
        `select vault_connection_id as id, count(*)::int as n from secrets
          where team_id = ? and vault_connection_id in (${ids.map(() => '?').join(', ')})
          group by vault_connection_id`,
        [teamId, ...ids],
      );
    for (const row of rows) counts.set(row.id, Number(row.n));
    return counts;
  }

  async create(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    body: unknown,
  ): Promise<VaultConnection> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'vault_connections:create');
    const vaultType: VaultType = parseOrThrow(vaultTypeSchema, body).vault_type;
    const { schema, secretFields } = VAULT_INPUTS[vaultType];
    const input: Record<string, unknown> = { ...parseOrThrow(schema, body) };
    if (vaultType === 'infisical') input.secret_path ??= '/';
    const { name, description } = input as { name: string; description?: string | null };
    const secrets: CredentialValue = {};
    const settings: VaultSettings = {};
    for (const [key, value] of Object.entries(input)) {
      if (['name', 'description', 'vault_type'].includes(key) || typeof value !== 'string') continue;
      if ((secretFields as readonly string[]).includes(key)) secrets[key] = value;
      else settings[key] = value;
    }

    return unitOfWork(this.orm, async (em, tx) => {
      await assertWithinPlan(em, teamId, 'vault_connections', () => em.count(VaultConnection, { teamId }));
      await this.assertNameFree(em, teamId, name);
      const id = randomUUID();
      const ref = vaultConnectionRef(teamId, id);
      const now = new Date();
      const connection = em.create(VaultConnection, {
        id,
        teamId,
        name,
        description: description ?? null,
        vaultType,
        settings,
        credentialRef: ref,
        credentialVersion: await this.store.put(ref, secrets, tx),
        lastVerifiedAt: null,
        createdAt: now,
        createdBy: actor.userId,
        updatedAt: now,
        updatedBy: actor.userId,
      });
      recordAudit(em, actor, meta, {
        eventType: 'vault_connection_created',
        resourceType: 'vault_connection',
        resourceId: id,
        resourceName: name,
        changedFields: Object.keys(input),
      });
      return connection;
    });
  }

  /** Renames or re-describes a connection. Tokens change only through `rotate`. */
  async update(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    connectionIdParam: string,
    body: unknown,
  ): Promise<VaultConnection> {
    const { teamId, connectionId } = this.ids(teamIdParam, connectionIdParam);
    authorize(actor, teamId, 'vault_connections:update');
    const patch = parseUpdate(body);

    return unitOfWork(this.orm, async (em) => {
      const connection = await this.lock(em, teamId, connectionId);
      const next: { name?: string; description?: string | null } = {};
      if (patch.name != null && patch.name !== connection.name) next.name = patch.name;
      if (patch.description !== undefined && patch.description !== (connection.description ?? null)) {
        next.description = patch.description;
      }
      const changed = UPDATABLE.filter((field) => field in next);
      if (changed.length === 0) return connection;
      if (next.name !== undefined) await this.assertNameFree(em, teamId, next.name);
      if (next.name !== undefined) connection.name = next.name;
      if (next.description !== undefined) connection.description = next.description;
      connection.updatedAt = new Date();
      connection.updatedBy = actor.userId;
      recordAudit(em, actor, meta, {
        eventType: 'vault_connection_updated',
        resourceType: 'vault_connection',
        resourceId: connection.id,
        resourceName: connection.name,
        changedFields: [...changed],
      });
      return connection;
    });
  }

  /**
   * Replaces the connection's token (1Password, Doppler) or client secret (Infisical). The new value
   * is written as a new version of the same store reference and the row moves to it in the same
   * transaction, so the row never points at a version that does not hold the current value.
   */
  async rotate(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    connectionIdParam: string,
    body: unknown,
  ): Promise<VaultConnection> {
    const { teamId, connectionId } = this.ids(teamIdParam, connectionIdParam);
    authorize(actor, teamId, 'vault_connections:update');

    return unitOfWork(this.orm, async (em, tx) => {
      // The row lock makes concurrent rotations of one connection take turns.
      const connection = await this.lock(em, teamId, connectionId);
      const value: CredentialValue = parseOrThrow(VAULT_INPUTS[connection.vaultType].rotate, body);
      const ref = connection.credentialRef;
      // Written before the row: if the commit then fails, the row still points at the old version.
      const version = await this.store.put(ref, value, tx, connection.credentialVersion);
      if (this.store.kind === 'local') {
        // The local store writes through this transaction, so the old versions go with the commit
        // (and come back if it rolls back).
        await tx.sql('delete from credential_blobs where ref = $1 and version < $2', [ref, version]);
      }
      // SSM: deleting a parameter removes every version, so the old ones are left in the parameter's
      // history (SSM keeps at most 100; the `current` label, on a committed version at or before the
      // current one, keeps the current one from eviction).
      // Nothing reads the old ones: the row now names
      // only the new version, and the connection's delete removes the whole parameter.
      connection.credentialVersion = version;
      // A verification applied to the old token.
      connection.lastVerifiedAt = null;
      connection.updatedAt = new Date();
      connection.updatedBy = actor.userId;
      recordAudit(em, actor, meta, {
        eventType: 'vault_connection_rotated',
        resourceType: 'vault_connection',
        resourceId: connection.id,
        resourceName: connection.name,
        changedFields: Object.keys(value),
      });
      return connection;
    });
  }

  /** Deletes an unused connection; 409 naming the secrets that still use it. */
  async delete(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    connectionIdParam: string,
  ): Promise<string> {
    const { teamId, connectionId } = this.ids(teamIdParam, connectionIdParam);
    authorize(actor, teamId, 'vault_connections:delete');
    let deletedId: string;
    try {
      deletedId = await unitOfWork(this.orm, async (em, tx) => {
        const connection = await this.lock(em, teamId, connectionId);
        await this.assertUnused(em, connection.id);
        em.remove(connection);
        // The stored token goes through the outbox: removed from the credential store after the
        // commit by the cleanup worker, retried until it succeeds.
        await queueCredentialDeletion(tx.sql, connection.credentialRef);
        recordAudit(em, actor, meta, {
          eventType: 'vault_connection_deleted',
          resourceType: 'vault_connection',
          resourceId: connection.id,
          resourceName: connection.name,
        });
        return connection.id;
      });
    } catch (error) {
      // A secret created concurrently (after our check) fails the deferred foreign key at commit.
      if (error instanceof ForeignKeyConstraintViolationException) {
        await this.assertUnused(this.orm.em.fork(), connectionId);
        throw new ConflictError('A secret started using this vault connection; nothing was deleted');
      }
      throw error;
    }
    void this.cleanup?.drain();
    return deletedId;
  }

  private ids(teamIdParam: string, connectionIdParam: string) {
    const ids = parsePathIds({ team_id: teamIdParam, connection_id: connectionIdParam });
    return { teamId: ids.team_id, connectionId: ids.connection_id };
  }

  private async lock(em: EntityManager, teamId: string, connectionId: string): Promise<VaultConnection> {
    const connection = await em.findOne(
      VaultConnection,
      { id: connectionId, teamId },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!connection) throw new NotFoundError('Vault connection not found');
    return connection;
  }

  private async assertUnused(em: EntityManager, connectionId: string): Promise<void> {
    const secrets = await em.find(
      Secret,
      { vaultConnection: connectionId },
      { fields: ['id', 'name'], orderBy: { name: 'asc' } },
    );
    if (secrets.length) {
      throw new ConflictError(
        `The vault connection is used by ${secrets.length} secret(s); delete them or move them to another connection first`,
        { secrets: secrets.map((s) => ({ id: s.id, name: s.name })) },
      );
    }
  }

  private async assertNameFree(em: EntityManager, teamId: string, name: string): Promise<void> {
    if (await em.count(VaultConnection, { teamId, name })) {
      throw new ConflictError(`A vault connection named '${name}' already exists in the team`);
    }
  }
}

/** Only name and description; any other field (a token above all) is refused by name. */
function parseUpdate(body: unknown): z.output<typeof updateSchema> {
  assertStorable(body);
  const issues: Issue[] = [];
  if (typeof body === 'object' && body !== null) {
    for (const key of Object.keys(body)) {
      if ((UPDATABLE as readonly string[]).includes(key)) continue;
      issues.push({
        path: [key],
        message: WRITE_ONLY_FIELDS.includes(key)
          ? `${key} changes only through POST .../vault-connections/{connection_id}/rotate`
          : 'Only name and description can be changed; create a new connection for other settings',
        code: 'extra_forbidden',
      });
    }
  }
  const result = updateSchema.safeParse(body);
  if (!result.success) issues.push(...result.error.issues.flatMap((issue) => zodIssueToIssues(issue)));
  if (issues.length) throw new ValidationError(issues);
  return result.data!;
}
