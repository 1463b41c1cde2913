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

/** What every log line written while handling one request carries (src/platform/http/server.ts enters it per request). */
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

/**
 * Properties that name what failed without quoting data: the SQLSTATE (or a system error code) and
 * the schema objects and server routine PostgreSQL reports (MikroORM copies them onto its exceptions).
 */
const DESCRIBED_FIELDS = ['code', 'constraint', 'table', 'column', 'routine'] as const;

/**
 * What the log may say about an error: its class, the fields above, its stack frames and its
 * `cause`, described alike. Never its message, which may quote the request (a driver's message holds
 * the statement with its values, PostgreSQL's quote input: `invalid input syntax for type uuid:
 * "..."`), nor `detail`, `where`, `hint` or the statement, which may too.
 */
export function describeError(error: unknown): Record<string, unknown> {
  const describe = (error: unknown, causesLeft: number): Record<string, unknown> => {
    if (!(error instanceof Error)) return { type: typeof error };
    const described: Record<string, unknown> = { type: error.constructor.name || error.name };
    for (const field of DESCRIBED_FIELDS) {
      const value = (error as unknown as Record<string, unknown>)[field];
      if ((typeof value === 'string' && value.length <= 63) || typeof value === 'number')
        described[field] = value;
    }
    const frames = stackFrames(error);
    if (frames) described.stack = frames;
    if (error.cause !== undefined && causesLeft > 0) described.cause = describe(error.cause, causesLeft - 1);
    return described;
  };
  return describe(error, 3);
}

/**
 * The first frames of an error's stack, without the message it opens with (which may span lines,
 * each of which could look like a frame); none when the message cannot be told apart (it changed
 * after the stack was taken).
 */
function stackFrames(error: Error): string | undefined {
  const stack = error.stack ?? '';
  const start = error.message ? stack.indexOf(error.message) : 0;
  if (start === -1) return undefined;
  const frames = stack
    .slice(start + error.message.length)
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 8)
    .map((line) => line.trim());
  return frames.length ? frames.join('\n') : undefined;
}

export type { Logger };
