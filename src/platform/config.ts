import { z } from 'zod';
import { DEFAULT_DATA_DIR } from './db/embedded.js';

const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);

/** An origin exactly as a browser sends it: scheme://host[:port], lower case, no default port, no path. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return ['http:', 'https:'].includes(url.protocol) && url.origin === value && !value.includes('*');
  } catch {
    return false;
  }
}

/** A comma-separated list of exact origins (no wildcard); empty: none. */
const originList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.string().refine(isOrigin, {
        error: (issue) =>
          `'${String(issue.input)}' is not an origin as a browser sends it: scheme://host[:port], lower case, without a default port, path or wildcard`,
      }),
    ),
  );

/** Every setting, read from the environment once and validated. */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.preprocess(emptyAsUndefined, z.string().optional()),
  DATA_DIR: z.string().default(DEFAULT_DATA_DIR),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  CREDENTIAL_STORE: z.enum(['local', 'ssm']).default('local'),
  CREDENTIAL_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, 'CREDENTIAL_KEY must be 32 random bytes, base64')
      .optional(),
  ),
  AWS_REGION: z.preprocess(emptyAsUndefined, z.string().optional()),
  AWS_ENDPOINT_URL_SSM: z.preprocess(emptyAsUndefined, z.url().optional()),
  SSM_KMS_KEY_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  SSM_PARAMETER_PREFIX: z
    .string()
    .regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'SSM_PARAMETER_PREFIX must look like /a/b')
    .default('/cloud-secrets'),
  SSM_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  RATE_LIMIT_IP_PER_MINUTE: z.coerce.number().int().min(0).default(2400),
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GRAPHIQL: flag(true),
  GRAPHQL_INTROSPECTION: flag(true),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  CORS_ORIGINS: originList,
  EVENTS_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  EVENT_STREAM_BUFFER: z.coerce.number().int().min(1).max(100_000).default(1000),
  SUBSCRIPTIONS_PER_KEY: z.coerce.number().int().min(0).default(10),
  WEBHOOK_ALLOW_HTTP: flag(false),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: flag(false),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).default(10_000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(12),
});

export type Config = z.output<typeof configSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
