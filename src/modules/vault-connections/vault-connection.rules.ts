import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { snakeCase } from '../../domain/names.js';
import { zodIssueToIssues } from '../../domain/validation.js';
import type { VaultType } from '../../domain/vaults.js';
import type { CredentialValue } from '../../platform/credentials/credential-store.js';
import type { VaultSettings } from './vault-connection.entity.js';

const text = (max: number) => z.string().min(1).max(max);

/** The write-only fields' rules, shared by create and rotate so both apply the same ones. */
const ONEPASSWORD_TOKEN = text(4096).startsWith('ops_', 'A 1Password service account token starts with ops_');
const DOPPLER_TOKEN = text(4096).startsWith('dp.st.', 'A Doppler service token starts with dp.st.');
const INFISICAL_CLIENT_SECRET = text(1000);

/**
 * Per vault type, the fields a new connection takes besides its name and description, each with its
 * rule, in the order their issues are reported.
 */
export const VAULT_FIELDS = {
  onepassword: z.strictObject({ accessToken: ONEPASSWORD_TOKEN }),
  doppler: z.strictObject({ accessToken: DOPPLER_TOKEN, project: text(255), config: text(255) }),
  infisical: z.strictObject({
    clientId: text(255),
    clientSecret: INFISICAL_CLIENT_SECRET,
    projectId: text(255),
    environment: text(100),
    secretPath: text(500).nullish(),
  }),
} as const;

/** What a rotation takes, per vault type: the new value of its write-only field, nothing else. */
export const ROTATION_FIELDS = {
  onepassword: z.strictObject({ accessToken: ONEPASSWORD_TOKEN }),
  doppler: z.strictObject({ accessToken: DOPPLER_TOKEN }),
  infisical: z.strictObject({ clientSecret: INFISICAL_CLIENT_SECRET }),
} as const;

/** Infisical's folder when none is given. */
const DEFAULT_SECRET_PATH = '/';

function isWriteOnly(vaultType: VaultType, field: string): boolean {
  return Object.hasOwn(ROTATION_FIELDS[vaultType].shape, field);
}

const settingsOf = (type: VaultType) =>
  Object.keys(VAULT_FIELDS[type].shape)
    .filter((field) => !isWriteOnly(type, field))
    .map(snakeCase);

/** The settings each vault type keeps on the row (every field but the write-only one), by stored name. */
export const VAULT_SETTINGS: Record<VaultType, readonly string[]> = {
  onepassword: settingsOf('onepassword'),
  doppler: settingsOf('doppler'),
  infisical: settingsOf('infisical'),
};

/** A vault type with its fields, as a new connection takes them. */
export type VaultFieldsCommand = {
  [T in VaultType]: { vaultType: T } & z.input<(typeof VAULT_FIELDS)[T]>;
}[VaultType];

/**
 * The use cases' inputs, in domain terms, whichever door they came through. Issues about them carry
 * paths into these commands (`['accessToken']`); each door renders those once. Name and description
 * are checked by the doors (`nameSchema`, `descriptionSchema`).
 */
export type CreateVaultConnectionCommand = { name: string; description?: string | null } & VaultFieldsCommand;

/** Omitted: unchanged; `description: null` clears it. Tokens change only through a rotation. */
export interface UpdateVaultConnectionCommand {
  name?: string;
  description?: string | null;
}

/** The new value of the connection's write-only field: `accessToken` (1Password, Doppler) or `clientSecret` (Infisical). */
export interface RotateVaultConnectionCommand {
  accessToken?: string;
  clientSecret?: string;
}

/** What an accepted create stores. */
export interface NewVaultConnection {
  /** The non-secret settings, kept on the row. */
  settings: VaultSettings;
  /** The write-only field, kept in the credential store. */
  credentials: CredentialValue;
  /** The fields the create set, by REST name (for the audit event). */
  createdFields: string[];
}

/** A new connection's fields checked against its vault type's rules, split into settings and credentials. */
export function planVaultConnection(command: CreateVaultConnectionCommand): NewVaultConnection {
  const { name: _name, description, vaultType, ...given } = command;
  const fields: Record<string, string | null | undefined> = checkAgainst(VAULT_FIELDS[vaultType], given);
  if (vaultType === 'infisical') fields.secretPath ??= DEFAULT_SECRET_PATH;
  const settings: VaultSettings = {};
  const credentials: CredentialValue = {};
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== 'string') continue;
    if (isWriteOnly(vaultType, field)) credentials[snakeCase(field)] = value;
    else settings[snakeCase(field)] = value;
  }
  const createdFields = [
    'name',
    ...(description != null ? ['description'] : []),
    'vault_type',
    ...Object.keys(VAULT_FIELDS[vaultType].shape).map(snakeCase),
  ];
  return { settings, credentials, createdFields };
}

/** The rotation's new value, checked against the connection's vault type: exactly its write-only field. */
export function checkRotation(vaultType: VaultType, command: RotateVaultConnectionCommand): CredentialValue {
  const value: Record<string, string> = checkAgainst(ROTATION_FIELDS[vaultType], command);
  return Object.fromEntries(Object.entries(value).map(([field, v]) => [snakeCase(field), v]));
}

/** What an accepted update changes; `changedFields` by REST name, in a stable order. */
export interface VaultConnectionChange extends UpdateVaultConnectionCommand {
  changedFields: string[];
}

/** Only what differs from the stored connection changes. */
export function planVaultConnectionUpdate(
  current: { name: string; description?: string | null },
  command: UpdateVaultConnectionCommand,
): VaultConnectionChange {
  const change: VaultConnectionChange = { changedFields: [] };
  if (command.name !== undefined && command.name !== current.name) change.name = command.name;
  if (command.description !== undefined && command.description !== (current.description ?? null)) {
    change.description = command.description;
  }
  change.changedFields = (['name', 'description'] as const).filter((field) => field in change);
  return change;
}

/** `value` by `schema`, or a ValidationError with issues at paths into the command. */
function checkAgainst<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new ValidationError(result.error.issues.flatMap((issue) => zodIssueToIssues(issue)));
}
