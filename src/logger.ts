import pino, { type Logger } from 'pino';

/** Keys whose values are credentials wherever they appear in a log object. */
export const CREDENTIAL_KEYS = [
  'authorization',
  'credentials',
  'access_key_id',
  'secret_access_key',
  'sas_url',
  'account_key',
  'service_account_json',
  'application_key',
  'access_token',
  'client_secret',
  'api_key',
  'full_key',
  'password',
  'secret',
];

const redactPaths = CREDENTIAL_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
