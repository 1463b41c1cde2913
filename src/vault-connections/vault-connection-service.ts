import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.js';
import { type Actor, authorize, type RequestMeta } from '../auth/scopes.js';
import {
  type CredentialStore,
  type CredentialValue,
  vaultConnectionRef,
} from '../credentials/credential-store.js';
import { inTransaction } from '../db/transaction.js';
import { ConflictError } from '../domain/errors.js';
import { parsePathIds } from '../domain/ids.js';
import { parseOrThrow } from '../domain/validation.js';
import { VAULT_TYPES, type VaultType } from '../domain/vaults.js';
import { VaultConnection, type VaultSettings } from '../entities/index.js';
import { descriptionSchema, nameSchema } from '../secrets/secret-rules.js';

const common = { name: nameSchema, description: descriptionSchema.nullish() };
const text = (max: number) => z.string().min(1).max(max);

/** Per vault type: the body it takes, and which of those fields are secrets (kept in the credential store). */
const VAULT_INPUTS = {
  onepassword: {
    schema: z.strictObject({
      ...common,
      vault_type: z.literal('onepassword'),
      access_token: text(4096).startsWith('ops_', 'A 1Password service account token starts with ops_'),
    }),
    secretFields: ['access_token'],
  },
  doppler: {
    schema: z.strictObject({
      ...common,
      vault_type: z.literal('doppler'),
      access_token: text(4096).startsWith('dp.st.', 'A Doppler service token starts with dp.st.'),
      project: text(255),
      config: text(255),
    }),
    secretFields: ['access_token'],
  },
  infisical: {
    schema: z.strictObject({
      ...common,
      vault_type: z.literal('infisical'),
      client_id: text(255),
      client_secret: text(1000),
      project_id: text(255),
      environment: text(100),
      secret_path: text(500).nullish(),
    }),
    secretFields: ['client_secret'],
  },
} as const;

const vaultTypeSchema = z.looseObject({ vault_type: z.enum(VAULT_TYPES) });

export class VaultConnectionService {
  constructor(
    private readonly orm: MikroORM,
    private readonly store: CredentialStore,
  ) {}

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

    return inTransaction(this.orm, async (em) => {
      if (await em.count(VaultConnection, { teamId, name })) {
        throw new ConflictError(`A vault connection named '${name}' already exists in the team`);
      }
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
        credentialVersion: await this.store.put(ref, secrets, em),
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
}
