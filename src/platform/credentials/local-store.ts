import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UnavailableError } from '../../domain/errors.js';
import type { Sql, Tx } from '../db/unit-of-work.js';
import { CredentialNotFoundError, type CredentialStore, type CredentialValue } from './credential-store.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A bound on a put that keeps finding its version taken (a caller not holding the row lock). */
const MAX_PUT_ATTEMPTS = 50;

/**
 * AES-256-GCM encrypted credentials in PostgreSQL (`credential_blobs`), one row per version. The
 * ciphertext is bound to its (ref, version) slot through the additional authenticated data.
 */
export class LocalCredentialStore implements CredentialStore {
  readonly kind = 'local';

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('The credential key must be 32 bytes');
  }

  async put(ref: string, value: CredentialValue, tx: Tx, latest?: number): Promise<number> {
    // Usually the version after the caller's latest is free (its writes take turns under the row
    // lock); one left by a write that failed after its put sends it to the newest stored version.
    let version = (latest ?? 0) + 1;
    for (let attempt = 1; ; attempt++) {
      const inserted = await tx.sql(
        `insert into credential_blobs (ref, version, ciphertext, created_at) values ($1, $2, $3, now())
         on conflict do nothing returning version`,
        [ref, version, this.seal(ref, version, value)],
      );
      if (inserted.length > 0) return version;
      if (attempt === MAX_PUT_ATTEMPTS) {
        throw new UnavailableError('Too many concurrent writes of these credentials; nothing was changed', 1);
      }
      const [row] = await tx.sql<{ next: number }>(
        'select coalesce(max(version), 0) + 1 as next from credential_blobs where ref = $1',
        [ref],
      );
      version = Number(row?.next ?? 1);
    }
  }

  /** iv ‖ tag ‖ ciphertext, bound to its (ref, version) slot. */
  private seal(ref: string, version: number, value: CredentialValue): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${ref}:${version}`));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
  }

  async get(ref: string, version: number, sql: Sql): Promise<CredentialValue> {
    const rows = await sql<{ ciphertext: Buffer }>(
      'select ciphertext from credential_blobs where ref = $1 and version = $2',
      [ref, version],
    );
    if (!rows[0]) throw new CredentialNotFoundError(ref, version);
    const blob = rows[0].ciphertext;
    const decipher = createDecipheriv('aes-256-gcm', this.key, blob.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(`${ref}:${version}`));
    decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as CredentialValue;
  }

  async delete(ref: string, sql: Sql): Promise<void> {
    await sql('delete from credential_blobs where ref = $1', [ref]);
  }

  async prune(ref: string, keepVersion: number, tx: Tx): Promise<void> {
    await tx.sql('delete from credential_blobs where ref = $1 and version < $2', [ref, keepVersion]);
  }

  async listRefs(sql: Sql): Promise<string[]> {
    const rows = await sql<{ ref: string }>('select distinct ref from credential_blobs');
    return rows.map((r) => r.ref);
  }

  async ping(): Promise<void> {}

  async settled(): Promise<void> {}

  async close(): Promise<void> {}
}

/** The key from `CREDENTIAL_KEY` (base64), else from `<dataDir>/credential.key`, created with mode 0600 on first use. */
export function loadCredentialKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured) return Buffer.from(configured, 'base64');
  const file = path.join(dataDir, 'credential.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} must hold 32 bytes, base64`);
  return key;
}
