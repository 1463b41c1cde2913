/**
 * The update planner and the credential checks on their own (no server, no database): what a change
 * changes, in which order its fields are named, and where each refusal points (domain paths, which
 * each door renders in its own terms).
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/domain/errors.js';
import {
  checkCredentials,
  checkFieldMappings,
  planSecretUpdate,
  type SecretState,
  type UpdateSecretCommand,
} from '../src/modules/secrets/secret.rules.js';

const native: SecretState = {
  name: 'backups',
  description: 'nightly',
  secretType: 's3',
  authMethod: 's3_access_key',
  storage: 'native',
};
const vaulted: SecretState = { ...native, storage: 'external_vault' };
const S3_KEYS = { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'secret-value' };

/** The issues of the ValidationError `run` throws (fails when it throws nothing, or something else). */
function issuesOf(run: () => unknown) {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map(({ path, code }) => ({ path, code }));
  }
  throw new Error('expected a ValidationError');
}

const plan = (command: UpdateSecretCommand, current = native) =>
  planSecretUpdate(current, command, current.storage === 'native' ? null : 'onepassword');

describe('planSecretUpdate', () => {
  it('changes only what differs, and names the changed fields in a stable order', () => {
    expect(plan({}).changedFields).toEqual([]);
    expect(plan({ name: 'backups', description: 'nightly' }).changedFields).toEqual([]);
    const change = plan({ description: null, name: 'archive', value: { credentials: S3_KEYS } });
    expect(change.changedFields).toEqual(['name', 'description', 'credentials']);
    expect(change).toMatchObject({ name: 'archive', description: null, credentials: S3_KEYS });
  });

  it('clears a description with null, and null on none is no change', () => {
    expect(plan({ description: null }).changedFields).toEqual(['description']);
    expect(plan({ description: null }, { ...native, description: null }).changedFields).toEqual([]);
  });

  it('refuses a type its auth method does not serve at secretType, and an auth method of another type at authMethod', () => {
    expect(issuesOf(() => plan({ secretType: 'azure_blob' }))).toEqual([
      { path: ['secretType'], code: expect.any(String) },
    ]);
    expect(issuesOf(() => plan({ authMethod: 'azure_sas_url' }))).toEqual([
      { path: ['authMethod'], code: 'enum' },
    ]);
  });

  it('asks for the new fields when the auth method needs other ones', () => {
    expect(issuesOf(() => plan({ secretType: 'azure_blob', authMethod: 'azure_account_key' }))).toEqual([
      { path: ['value', 'credentials'], code: 'missing' },
    ]);
    expect(
      issuesOf(() => plan({ secretType: 'azure_blob', authMethod: 'azure_account_key' }, vaulted)),
    ).toEqual([{ path: ['value', 'fieldMappings'], code: 'missing' }]);
    const change = plan({
      secretType: 'azure_blob',
      authMethod: 'azure_sas_url',
      value: {
        credentials: { sas_url: 'https://acct.blob.core.windows.net/c?sv=2024-01-01&se=2030-01-01&sig=abc' },
      },
    });
    expect(change.changedFields).toEqual(['secret_type', 'auth_method', 'credentials']);
  });

  it('takes credentials only for native secrets and field mappings only for external-vault ones', () => {
    expect(issuesOf(() => plan({ value: { credentials: S3_KEYS } }, vaulted))).toEqual([
      { path: ['value', 'credentials'], code: expect.any(String) },
    ]);
    const mappings = [
      { field_name: 'access_key_id', reference: 'op://Ops/AWS/id' },
      { field_name: 'secret_access_key', reference: 'op://Ops/AWS/secret' },
    ];
    expect(issuesOf(() => plan({ value: { fieldMappings: mappings } }))).toEqual([
      { path: ['value', 'fieldMappings'], code: expect.any(String) },
    ]);
    expect(plan({ value: { fieldMappings: mappings } }, vaulted).changedFields).toEqual(['field_mappings']);
  });
});

describe('checkCredentials', () => {
  it("keeps exactly the auth method's fields, in the provider table's order", () => {
    expect(
      Object.keys(checkCredentials('s3_access_key', { secret_access_key: 's', access_key_id: 'a' })),
    ).toEqual(['access_key_id', 'secret_access_key']);
  });

  it('names every problem at its field: missing, not a string, empty, unknown', () => {
    expect(
      issuesOf(() =>
        checkCredentials('s3_access_key', { access_key_id: 42, secret_access_key: '  ', region: 'x' }),
      ),
    ).toEqual([
      { path: ['value', 'credentials', 'access_key_id'], code: 'string_type' },
      { path: ['value', 'credentials', 'secret_access_key'], code: 'string_too_short' },
      { path: ['value', 'credentials', 'region'], code: 'extra_forbidden' },
    ]);
    expect(issuesOf(() => checkCredentials('s3_access_key', {}))).toEqual([
      { path: ['value', 'credentials', 'access_key_id'], code: 'missing' },
      { path: ['value', 'credentials', 'secret_access_key'], code: 'missing' },
    ]);
  });
});

describe('checkFieldMappings', () => {
  it('refuses a field mapped twice and a field left unmapped, at the mapping and at the list', () => {
    expect(
      issuesOf(() =>
        checkFieldMappings('s3_access_key', 'onepassword', [
          { field_name: 'access_key_id', reference: 'op://Ops/AWS/a' },
          { field_name: 'access_key_id', reference: 'op://Ops/AWS/b' },
        ]),
      ),
    ).toEqual([
      { path: ['value', 'fieldMappings', 1, 'field_name'], code: 'value_error' },
      { path: ['value', 'fieldMappings'], code: 'missing' },
    ]);
  });
});
