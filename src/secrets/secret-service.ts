import { randomUUID } from 'node:crypto';
import { type EntityManager, type FilterQuery, LockMode, type MikroORM } from '@mikro-orm/postgresql';
import { auditColumns, recordAudit } from '../audit/audit.js';
import { type Actor, authorize, type RequestMeta } from '../auth/scopes.js';
import { type CredentialCleanup, queueCredentialDeletion } from '../credentials/cleanup.js';
import { type CredentialStore, secretRef } from '../credentials/credential-store.js';
import {
  autocommit,
  hasBeforeCommit,
  inTransaction,
  type Sql,
  sqlTransaction,
  type Tx,
} from '../db/transaction.js';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../domain/errors.js';
import { isUuid, parsePathIds } from '../domain/ids.js';
import { containsPattern, type ListQuery, type Page } from '../domain/paging.js';
import type { AuthMethod, SecretType } from '../domain/providers.js';
import { parseOrThrow } from '../domain/validation.js';
import type { VaultType } from '../domain/vaults.js';
import { Location, Secret, VaultConnection } from '../entities/index.js';
import { assertWithinPlan } from '../teams/plan-limits.js';
import { recordVersion } from './secret-history.js';
import {
  checkAuthMethodServes,
  checkCredentials,
  checkFieldMappings,
  createSecretSchema,
  planSecretUpdate,
  type UpdateSecretPatch,
  updateSecretSchema,
} from './secret-rules.js';

export const SECRET_SORT_FIELDS = ['name', 'created_at', 'updated_at'] as const;
export type SecretSortField = (typeof SECRET_SORT_FIELDS)[number];
const SORT_PROPERTY = { name: 'name', created_at: 'createdAt', updated_at: 'updatedAt' } as const;

export interface SecretFilter {
  q?: string;
  secretType?: SecretType;
}

/** A secret with what depends on it and who touched it: the detail view. Never credentials. */
export interface SecretDetail {
  secret: Secret;
  locations: Pick<Location, 'id' | 'name' | 'locationType'>[];
  vaultConnection: Pick<VaultConnection, 'id' | 'name' | 'vaultType'> | null;
  createdByEmail: string | null;
  updatedByEmail: string | null;
}

/** Every secret use case, shared by the REST and GraphQL doors. */
export class SecretService {
  constructor(
    private readonly orm: MikroORM,
    private readonly store: CredentialStore,
    private readonly cleanup: CredentialCleanup,
  ) {}

  /** The secret with its locations, vault connection and the emails of its creator and last editor: one statement. */
  async getDetail(actor: Actor, teamIdParam: string, secretIdParam: string): Promise<SecretDetail> {
    const { teamId, secretId } = this.readable(actor, teamIdParam, secretIdParam);
    const [row] = await autocommit(this.orm)<DetailRow>(LOAD_SECRET_DETAIL, [secretId, teamId]);
    if (!row) throw new NotFoundError('Secret not found');
    return {
      secret: secretFromRow(row),
      locations: row.locations,
      vaultConnection: row.vault_connection_id
        ? { id: row.vault_connection_id, name: row.vault_connection_name!, vaultType: row.vault_type! }
        : null,
      createdByEmail: row.created_by_email,
      updatedByEmail: row.updated_by_email,
    };
  }

  async list(
    actor: Actor,
    teamIdParam: string,
    page: ListQuery<SecretSortField>,
    filter: SecretFilter,
  ): Promise<Page<Secret>> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'secrets:read');
    const where: FilterQuery<Secret> = { teamId };
    if (filter.secretType) where.secretType = filter.secretType;
    if (filter.q) where.name = { $ilike: containsPattern(filter.q) };
    const [items, total] = await this.orm.em.fork().findAndCount(Secret, where, {
      orderBy: { [SORT_PROPERTY[page.sortBy]]: page.sortOrder, id: page.sortOrder },
      limit: page.limit,
      offset: page.offset,
    });
    return { items, total };
  }

  /** How many locations use each secret, in one query. */
  async locationCounts(secretIds: string[]): Promise<Map<string, number>> {
    if (secretIds.length === 0) return new Map();
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ secret_id: string; count: string }[]>(
        `select secret_id, count(*) as count from locations where secret_id in (${secretIds.map(() => '?').join(',')}) group by secret_id`,
        secretIds,
      );
    return new Map(rows.map((r) => [r.secret_id, Number(r.count)]));
  }

  async delete(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    secretIdParam: string,
    options: WriteOptions = {},
  ): Promise<void> {
    const { team_id: teamId, secret_id: secretId } = parsePathIds({
      team_id: teamIdParam,
      secret_id: secretIdParam,
    });
    authorize(actor, teamId, 'secrets:delete');
    await inTransaction(this.orm, async (em) => {
      const secret = await lockSecret(em, teamId, secretId, options.expectedVersion);
      const using = await em.find(
        Location,
        { secretId },
        { fields: ['id', 'name', 'locationType'], orderBy: { name: 'asc' } },
      );
      if (using.length) {
        throw new ConflictError(
          `Secret '${secret.name}' is used by ${using.length} location(s): ${using.map((l) => l.name).join(', ')}. Delete or re-point them first`,
          { locations: using.map((l) => ({ id: l.id, name: l.name, location_type: l.locationType })) },
        );
      }
      if (secret.credentialRef) await queueCredentialDeletion(em, secret.credentialRef);
      em.remove(secret);
      recordAudit(em, actor, meta, {
        eventType: 'secret_deleted',
        resourceType: 'secret',
        resourceId: secret.id,
        resourceName: secret.name,
      });
    });
    // Best effort now; the outbox row makes it happen later if this fails or the process dies first.
    void this.cleanup.drain();
  }

  async get(actor: Actor, teamIdParam: string, secretIdParam: string): Promise<Secret> {
    const { teamId, secretId } = this.readable(actor, teamIdParam, secretIdParam);
    const [row] = await autocommit(this.orm)<SecretRow>(LOAD_SECRET, [secretId, teamId]);
    if (!row) throw new NotFoundError('Secret not found');
    return secretFromRow(row);
  }

  private readable(actor: Actor, teamIdParam: string, secretIdParam: string) {
    const { team_id: teamId, secret_id: secretId } = parsePathIds({
      team_id: teamIdParam,
      secret_id: secretIdParam,
    });
    authorize(actor, teamId, 'secrets:read');
    return { teamId, secretId };
  }

  /** Federation entity lookup by id alone: the caller's team's secrets among `ids`; others' are absent. */
  async findForActor(actor: Actor, ids: readonly string[]): Promise<Map<string, Secret>> {
    authorize(actor, actor.teamId, 'secrets:read');
    const wanted = ids.filter(isUuid).map((id) => id.toLowerCase());
    const rows = wanted.length
      ? await this.orm.em.fork().find(Secret, { id: { $in: wanted }, teamId: actor.teamId })
      : [];
    return new Map(rows.map((row) => [row.id, row]));
  }

  async create(actor: Actor, meta: RequestMeta, teamIdParam: string, body: unknown): Promise<Secret> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'secrets:create');
    const input = parseOrThrow(createSecretSchema, body);
    checkAuthMethodServes(input.secret_type, input.auth_method, false);
    const hasCredentials = input.credentials != null;
    const hasVault = input.vault_connection_id != null || input.field_mappings != null;
    if (hasCredentials === hasVault) {
      throw ValidationError.single(
        [],
        'Send either credentials (native) or vault_connection_id with field_mappings (external vault)',
      );
    }
    const credentials = hasCredentials ? checkCredentials(input.auth_method, input.credentials!) : undefined;

    return inTransaction(this.orm, async (em, tx) => {
      let vault: { id: string; mappings: Secret['fieldMappings'] } | undefined;
      if (hasVault) {
        const issues = [];
        if (input.vault_connection_id == null) issues.push(missing('vault_connection_id'));
        if (input.field_mappings == null) issues.push(missing('field_mappings'));
        if (issues.length) throw new ValidationError(issues);
        const connection = await this.findVaultConnection(em, teamId, input.vault_connection_id!);
        vault = {
          id: connection.id,
          mappings: checkFieldMappings(input.auth_method, connection.vaultType, input.field_mappings!),
        };
      }
      await assertWithinPlan(em, teamId, 'secrets', () => em.count(Secret, { teamId }));
      await assertNameFree(tx.sql, teamId, input.name);
      const id = randomUUID();
      const now = new Date();
      const ref = secretRef(teamId, id);
      const createdFields = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] != null);
      const secret = em.create(Secret, {
        id,
        teamId,
        name: input.name,
        description: input.description ?? null,
        secretType: input.secret_type,
        authMethod: input.auth_method,
        storage: credentials ? 'native' : 'external_vault',
        credentialRef: credentials ? ref : null,
        credentialVersion: credentials ? await this.store.put(ref, credentials, tx) : null,
        vaultConnectionId: vault?.id ?? null,
        fieldMappings: vault?.mappings ?? null,
        version: 1,
        createdAt: now,
        createdBy: actor.userId,
        updatedAt: now,
        updatedBy: actor.userId,
      });
      recordVersion(em, secret, createdFields, actor);
      recordAudit(em, actor, meta, {
        eventType: 'secret_created',
        resourceType: 'secret',
        resourceId: id,
        resourceName: input.name,
        changedFields: createdFields,
      });
      return secret;
    });
  }

  /**
   * Applies a PATCH atomically. With `dryRun`, every check runs (including linked locations and name
   * clashes) and the result previews the change, but nothing is written anywhere.
   *
   * Most updates take two statements and no explicit transaction: read the row, then one statement
   * that moves it on only if it is still at the version read and records the history entry and the
   * audit event with it. An update that lost that race, a dry run, a type change (whose location
   * check needs the row lock), a local-store rotation (the store writes through the transaction) and
   * a request with work to commit alongside (an idempotency claim) run again, or at once, under the
   * row lock in a transaction.
   */
  async update(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    secretIdParam: string,
    body: unknown,
    options: WriteOptions & { dryRun?: boolean } = {},
  ): Promise<UpdateResult> {
    const { team_id: teamId, secret_id: secretId } = parsePathIds({
      team_id: teamIdParam,
      secret_id: secretIdParam,
    });
    authorize(actor, teamId, 'secrets:update');
    const patch = parseOrThrow(updateSecretSchema, body);
    if (patch.credentials != null && patch.field_mappings != null) {
      throw ValidationError.single(['field_mappings'], 'Send credentials or field_mappings, not both');
    }
    const request: UpdateRequest = { actor, meta, teamId, secretId, patch, options };
    const needsLock =
      options.dryRun ||
      hasBeforeCommit() ||
      patch.secret_type != null ||
      (patch.credentials != null && this.store.kind === 'local');
    if (!needsLock) {
      const afterWrite: (() => Promise<void>)[] = [];
      const tx = {
        sql: autocommit(this.orm),
        afterCommit: (task: () => Promise<void>) => afterWrite.push(task),
      };
      const result = await this.applyUpdate(request, tx, false);
      if (result) {
        for (const task of afterWrite) await task();
        return result;
      }
    }
    try {
      return await sqlTransaction(this.orm, async (tx) => (await this.applyUpdate(request, tx, true))!);
    } catch (error) {
      if (error instanceof NotFoundError && !needsLock && patch.credentials != null) {
        // Deleted while the unlocked attempt wrote to the store: its value may have outlived the
        // deletion's cleanup, so the store is cleaned up once more.
        await inTransaction(this.orm, (em) => queueCredentialDeletion(em, secretRef(teamId, secretId)));
        void this.cleanup.drain();
      }
      throw error;
    }
  }

  /** One attempt at an update; `null` when, unlocked, the row moved on between the read and the write. */
  private async applyUpdate(
    { actor, meta, teamId, secretId, patch, options }: UpdateRequest,
    tx: Tx,
    locked: boolean,
  ): Promise<UpdateResult | null> {
    const [row] = await tx.sql<SecretRow>(locked ? LOAD_SECRET_FOR_UPDATE : LOAD_SECRET, [secretId, teamId]);
    if (!row) throw new NotFoundError('Secret not found');
    const secret = secretFromRow(row);
    if (options.expectedVersion !== undefined && secret.version !== options.expectedVersion) {
      throw new VersionConflictError(secret.version);
    }
    const dryRun = Boolean(options.dryRun);
    const change = planSecretUpdate(secret, patch, row.vault_type);
    const changedFields = change.changedFields;
    if (changedFields.length === 0) return { secret, changedFields, dryRun };

    if (change.secretType) await assertLocationsAccept(tx.sql, secret.id, change.secretType);
    // Otherwise the unique constraint decides; checked first when a refusal would come too late.
    if (change.name && (dryRun || change.credentials)) await assertNameFree(tx.sql, teamId, change.name);
    const next: Secret = {
      ...secret,
      ...(change.name !== undefined && { name: change.name }),
      ...(change.description !== undefined && { description: change.description }),
      ...(change.secretType && { secretType: change.secretType }),
      ...(change.authMethod && { authMethod: change.authMethod }),
      ...(change.fieldMappings && { fieldMappings: change.fieldMappings }),
      version: secret.version + 1,
      updatedAt: new Date(),
      updatedBy: actor.userId,
    };
    if (dryRun) return { secret: next, changedFields, dryRun };
    if (change.credentials) {
      // Written before the row: if the row write then fails, the row still points at the old version.
      next.credentialVersion = await this.store.put(
        secret.credentialRef!,
        change.credentials,
        tx,
        secret.credentialVersion ?? undefined,
      );
    }
    const audit = auditColumns(meta);
    try {
      const written = await tx.sql(WRITE_SECRET_UPDATE, [
        secret.id,
        secret.version,
        next.name,
        next.description ?? null,
        next.secretType,
        next.authMethod,
        next.credentialVersion ?? null,
        next.fieldMappings ? JSON.stringify(next.fieldMappings) : null,
        next.updatedAt,
        actor.userId,
        changedFields,
        actor.apiKeyId,
        randomUUID(),
        audit.ip,
        audit.userAgent,
        audit.requestId,
      ]);
      if (written.length === 0) return null;
    } catch (error) {
      if ((error as { constraint?: string }).constraint === 'secrets_team_name_unique') {
        throw nameTaken(next.name);
      }
      throw error;
    }
    return { secret: next, changedFields, dryRun };
  }

  private async findVaultConnection(em: EntityManager, teamId: string, id: string): Promise<VaultConnection> {
    const connection = isUuid(id)
      ? await em.findOne(VaultConnection, { id: id.toLowerCase(), teamId })
      : null;
    if (!connection) {
      throw ValidationError.single(['vault_connection_id'], 'No vault connection with this id in the team');
    }
    return connection;
  }
}

export interface UpdateResult {
  secret: Secret;
  /** REST names of the fields the update changed (or, in a dry run, would change). */
  changedFields: string[];
  dryRun: boolean;
}

/** Preconditions on a write: `expectedVersion` (If-Match on REST) must equal the current version. */
export interface WriteOptions {
  expectedVersion?: number;
}

/**
 * Loads a secret of the team for a delete or a rollback, holding its row lock until the transaction
 * ends (so they serialize with every other write to it), and checks the caller's expected version.
 */
export async function lockSecret(
  em: EntityManager,
  teamId: string,
  secretId: string,
  expectedVersion: number | undefined,
): Promise<Secret> {
  const secret = await em.findOne(Secret, { id: secretId, teamId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!secret) throw new NotFoundError('Secret not found');
  if (expectedVersion !== undefined && secret.version !== expectedVersion) {
    throw new VersionConflictError(secret.version);
  }
  return secret;
}

function missing(field: string) {
  return { path: [field], message: 'Field required for an external-vault secret', code: 'missing' };
}

interface UpdateRequest {
  actor: Actor;
  meta: RequestMeta;
  teamId: string;
  secretId: string;
  patch: UpdateSecretPatch;
  options: WriteOptions & { dryRun?: boolean };
}

interface SecretRow {
  id: string;
  team_id: string;
  name: string;
  description: string | null;
  secret_type: SecretType;
  auth_method: AuthMethod;
  storage: Secret['storage'];
  credential_ref: string | null;
  credential_version: number | null;
  vault_connection_id: string | null;
  field_mappings: Secret['fieldMappings'];
  version: number;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  updated_by: string;
  vault_type: VaultType | null;
}

/**
 * A secret row's columns (`SecretRow`), from `secrets s left join vault_connections vc`. Listed, not
 * `s.*`: a prepared statement's result columns must not change under it.
 */
const SECRET_COLUMNS = `s.id, s.team_id, s.name, s.description, s.secret_type, s.auth_method, s.storage,
    s.credential_ref, s.credential_version, s.vault_connection_id, s.field_mappings, s.version,
    s.created_at, s.created_by, s.updated_at, s.updated_by, vc.vault_type`;

const LOAD_SECRET = `select ${SECRET_COLUMNS}
  from secrets s
  left join vault_connections vc on vc.id = s.vault_connection_id
  where s.id = $1 and s.team_id = $2`;
const LOAD_SECRET_FOR_UPDATE = `${LOAD_SECRET} for update of s`;

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

/** Moves the row on (if still at version $2) with its history entry and audit event, in one statement. */
const WRITE_SECRET_UPDATE = `with changed as (
    update secrets set name = $3, description = $4, secret_type = $5, auth_method = $6,
      credential_version = $7, field_mappings = $8::jsonb, version = version + 1, updated_at = $9, updated_by = $10
    where id = $1 and version = $2
    returning *
  ), history as (
    insert into secret_versions (secret_id, version, changed_fields, secret_type, auth_method,
      credential_version, field_mappings, actor_user_id, actor_api_key_id, created_at)
    select id, version, $11, secret_type, auth_method, credential_version, field_mappings, $10, $12, updated_at
      from changed
  ), audit as (
    insert into audit_events (id, team_id, event_type, resource_type, resource_id, resource_name,
      actor_user_id, actor_api_key_id, changed_fields, ip, user_agent, request_id, created_at)
    select $13, team_id, 'secret_updated', 'secret', id, name, $10, $12, $11, $14, $15, $16, updated_at
      from changed
  )
  select version from changed`;

function secretFromRow(row: SecretRow): Secret {
  return {
    id: row.id,
    teamId: row.team_id,
    name: row.name,
    description: row.description,
    secretType: row.secret_type,
    authMethod: row.auth_method,
    storage: row.storage,
    credentialRef: row.credential_ref,
    credentialVersion: row.credential_version,
    vaultConnectionId: row.vault_connection_id,
    fieldMappings: row.field_mappings,
    version: row.version,
    createdAt: row.created_at,
    createdBy: row.created_by,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  } as Secret;
}

function nameTaken(name: string): ConflictError {
  return new ConflictError(`A secret named '${name}' already exists in the team`);
}

async function assertNameFree(sql: Sql, teamId: string, name: string): Promise<void> {
  if ((await sql('select 1 from secrets where team_id = $1 and name = $2', [teamId, name])).length) {
    throw nameTaken(name);
  }
}

async function assertLocationsAccept(sql: Sql, secretId: string, secretType: SecretType): Promise<void> {
  const blocking = await sql<{ id: string; name: string; location_type: SecretType }>(
    `select id, name, location_type from locations where secret_id = $1 and location_type <> $2
      order by name`,
    [secretId, secretType],
  );
  if (blocking.length) {
    throw new ConflictError(
      `Cannot change secret_type to '${secretType}': linked locations have another location_type: ${blocking.map((l) => `${l.name} (${l.location_type})`).join(', ')}`,
      { locations: blocking },
    );
  }
}
