import type { GraphQLContext } from './builder.js';

export const IDEMPOTENCY_KEY_DESCRIPTION =
  'Retry-safe: the same key with the same arguments returns the first successful result again without a second write (kept 24 h); with other arguments it is a ValidationError.';

/**
 * Runs a mutation at most once per (API key, idempotency key): the first successful result is stored
 * in PostgreSQL (the REST door's `Idempotency-Key` store) and returned again to retries.
 */
export async function idempotent<T>(
  ctx: GraphQLContext,
  key: string | null | undefined,
  field: string,
  args: Record<string, unknown>,
  run: () => Promise<T>,
): Promise<T> {
  if (!key) return run();
  const actor = await ctx.actor();
  const { idempotencyKey: _key, ...request } = args;
  const response = await ctx.services.idempotency.run(
    actor.apiKeyId,
    key,
    { method: 'GRAPHQL', path: field, body: JSON.stringify(request) },
    async () => ({ status: 200, body: await run() }),
  );
  return response.body as T;
}
