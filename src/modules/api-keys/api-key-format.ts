import { createHash, randomBytes } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_PATTERN = /^dr_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** `dr_<key_id>_<secret>`: key_id is 12 alphanumerics, secret is 256 random bits in URL-safe base64. */
export interface ParsedApiKey {
  keyId: string;
  secret: string;
}

export function newKeyId(): string {
  let id = '';
  while (id.length < 12) {
    for (const byte of randomBytes(16)) {
      // Rejection sampling keeps every character equally likely.
      if (byte < 248 && id.length < 12) id += ALPHANUMERIC[byte % 62];
    }
  }
  return id;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function formatApiKey(keyId: string, secret: string): string {
  return `dr_${keyId}_${secret}`;
}

export function parseApiKey(value: string): ParsedApiKey | null {
  const match = KEY_PATTERN.exec(value);
  const [, keyId, secret] = match ?? [];
  return keyId && secret ? { keyId, secret } : null;
}

/** The secret has 256 bits of entropy, so a fast hash is enough; only the hash is stored. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Reads `Authorization: Bearer <key>`; null when absent or not of that form. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
