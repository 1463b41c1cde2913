/**
 * The provider table (src/domain/providers.ts), without a server: every secret type's auth methods
 * and the credential fields each one needs, the location endpoint rules, and the credential format
 * checks. The expected values are written out from the product's providers (what each storage
 * service authenticates with), not read back from the table.
 */
import { describe, expect, it } from 'vitest';
import {
  AUTH_METHODS,
  type AuthMethod,
  authMethodsFor,
  CREDENTIAL_FIELDS,
  CREDENTIAL_FORMATS,
  credentialFieldsOf,
  endpointUrlAllowed,
  endpointUrlRequired,
  isAuthMethodOf,
  SECRET_TYPES,
  type SecretType,
  sameFieldSet,
  shapeOf,
} from '../src/domain/providers.js';

const ACCESS_KEY = ['access_key_id', 'secret_access_key'];
/** Every provider speaking the S3 API: one access-key auth method named after it. */
const S3_STYLE: SecretType[] = [
  's3',
  'r2',
  'wasabi',
  'railway',
  'oracle_object_storage_s3',
  's3_compatible',
  'tigris',
  'digitalocean_spaces',
  'hetzner',
  'rabata',
];

const EXPECTED: Record<SecretType, Record<string, string[]>> = {
  ...(Object.fromEntries(S3_STYLE.map((type) => [type, { [`${type}_access_key`]: ACCESS_KEY }])) as Record<
    SecretType,
    Record<string, string[]>
  >),
  azure_blob: { azure_sas_url: ['sas_url'], azure_account_key: ['account_name', 'account_key'] },
  gcs: { gcs_service_account: ['service_account_json'] },
  b2: { b2_application_key: ['application_key_id', 'application_key'] },
};

describe('secret types and their auth methods', () => {
  it('lists exactly the supported secret types', () => {
    expect([...SECRET_TYPES].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))(
    '%s: its auth methods and the credential fields of each',
    (type, methods) => {
      const secretType = type as SecretType;
      expect(authMethodsFor(secretType).sort()).toEqual(Object.keys(methods).sort());
      for (const [method, fields] of Object.entries(methods)) {
        expect(isAuthMethodOf(secretType, method as AuthMethod)).toBe(true);
        expect([...credentialFieldsOf(method as AuthMethod)]).toEqual(fields);
      }
    },
  );

  it('an auth method belongs to its own secret type only', () => {
    for (const type of SECRET_TYPES) {
      for (const method of AUTH_METHODS) {
        expect(isAuthMethodOf(type, method), `${type} / ${method}`).toBe(method in EXPECTED[type]!);
      }
    }
  });

  it('AUTH_METHODS is every auth method of the table, each once', () => {
    const all = Object.values(EXPECTED).flatMap((methods) => Object.keys(methods));
    expect([...AUTH_METHODS].sort()).toEqual(all.sort());
    expect(new Set(AUTH_METHODS).size).toBe(AUTH_METHODS.length);
  });

  it('every credential field is used by some auth method, and only known fields are', () => {
    const used = new Set(AUTH_METHODS.flatMap((method) => credentialFieldsOf(method)));
    expect([...used].sort()).toEqual([...CREDENTIAL_FIELDS].sort());
  });

  it('sameFieldSet: the access-key methods share one shape; the others differ from them and from each other', () => {
    expect(sameFieldSet('s3_access_key', 'r2_access_key')).toBe(true);
    expect(sameFieldSet('s3_access_key', 's3_compatible_access_key')).toBe(true);
    expect(shapeOf('s3_access_key')).toBe(shapeOf('rabata_access_key'));
    expect(sameFieldSet('s3_access_key', 'b2_application_key')).toBe(false);
    expect(sameFieldSet('azure_sas_url', 'azure_account_key')).toBe(false);
    expect(sameFieldSet('gcs_service_account', 'azure_sas_url')).toBe(false);
  });

  it('shapeOf refuses an auth method that is not in the table', () => {
    expect(() => shapeOf('ftp_password' as AuthMethod)).toThrow('unknown auth method');
  });
});

describe('location endpoint_url rules', () => {
  it.each(SECRET_TYPES)('%s', (type) => {
    // Only providers speaking the S3 API take a custom endpoint; only the generic one needs it.
    expect(endpointUrlAllowed(type)).toBe(S3_STYLE.includes(type));
    expect(endpointUrlRequired(type)).toBe(type === 's3_compatible');
  });
});

describe('credential format checks', () => {
  const sasUrl = CREDENTIAL_FORMATS.sas_url!;
  const serviceAccount = CREDENTIAL_FORMATS.service_account_json!;
  const SAS = 'https://acct.blob.core.windows.net/container?sv=2022-11-02&se=2030-01-01&sig=abc';

  it('only the SAS URL and the service-account key have a format beyond "non-empty"', () => {
    expect(Object.keys(CREDENTIAL_FORMATS).sort()).toEqual(['sas_url', 'service_account_json']);
  });

  it('SAS URL: an https URL on <account>.blob.core.windows.net carrying sig and se', () => {
    expect(sasUrl(SAS)).toBeUndefined();
    expect(sasUrl('not a url')).toBe('must be a URL');
    expect(sasUrl(SAS.replace('https:', 'http:'))).toBe('must be an https URL');
    expect(sasUrl(SAS.replace('acct.blob.core.windows.net', 'acct.example.com'))).toBe(
      'host must be <account>.blob.core.windows.net',
    );
    expect(sasUrl(SAS.replace('&sig=abc', ''))).toBe("query must carry the SAS parameter 'sig'");
    expect(sasUrl(SAS.replace('&se=2030-01-01', ''))).toBe("query must carry the SAS parameter 'se'");
    expect(sasUrl(SAS.replace('&sig=abc', '&sig='))).toBe("query must carry the SAS parameter 'sig'");
  });

  it('service account JSON: an object of type service_account with client_email and private_key', () => {
    const key = { type: 'service_account', client_email: 'sa@example.com', private_key: 'k' };
    expect(serviceAccount(JSON.stringify(key))).toBeUndefined();
    expect(serviceAccount('{')).toBe('must be the JSON key file of a service account');
    expect(serviceAccount('[]')).toBe('must be a JSON object');
    expect(serviceAccount('null')).toBe('must be a JSON object');
    expect(serviceAccount(JSON.stringify({ ...key, type: 'user' }))).toBe("must have type 'service_account'");
    expect(serviceAccount(JSON.stringify({ ...key, client_email: '' }))).toBe(
      "must have a non-empty 'client_email'",
    );
    const { private_key: _, ...withoutKey } = key;
    expect(serviceAccount(JSON.stringify(withoutKey))).toBe("must have a non-empty 'private_key'");
  });
});
