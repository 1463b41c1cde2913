import { AsyncLocalStorage } from 'node:async_hooks';
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

/** What every log line written while handling one request carries (src/server.ts enters it per request). */
export interface RequestContext {
  reqId: string;
}

/** The request being handled in the current async context, if any. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/** The id of the request being handled in the current async context, if any. */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.reqId;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every line written while a request is handled carries its id (an explicit `reqId` wins).
      mixin: () => {
        const context = requestContext.getStore();
        return context ? { reqId: context.reqId } : {};
      },
    },
    destination,
  );
}

export type { Logger };
