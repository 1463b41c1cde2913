import type { ArgBuilder } from '@pothos/core';
import type { GraphQLResolveInfo } from 'graphql';
import type { Actor } from '../../domain/scopes.js';
import type { BuilderTypes, GraphQLContext } from './builder.js';
import { commandPathIn, defaultInputPath, type IssuePathMapper, translate } from './error-types.js';

/** `idempotencyKeyArg`'s note for a mutation whose result holds a one-time secret (`holdsOneTimeSecret`). */
export const ONE_TIME_SECRET_NOTE =
  ' The result holds a one-time secret, so it is never kept: a retry with the key is a ConflictError (and changes nothing).';

/** The `idempotencyKey` argument of every mutation; `note` adds what differs for this one. */
export const idempotencyKeyArg = (arg: ArgBuilder<BuilderTypes>, note = '') =>
  arg.string({
    description: `Retry-safe: the same key with the same arguments returns the first successful result again without a second write (kept 24 h); with other arguments it is a ValidationError.${note}`,
  });

/**
 * Resolves a mutation for the caller (resolved first: no caller, no work): domain errors become
 * members of its result union (issue paths through `mapPath`), and with an `idempotencyKey` the work
 * runs at most once per (API key, idempotency key).
 */
export async function mutate<T>(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  args: { idempotencyKey?: string | null },
  work: (actor: Actor) => Promise<T>,
  mapPath: IssuePathMapper = defaultInputPath,
): Promise<T> {
  const actor = await ctx.actor();
  return translate(
    () => idempotent(ctx, info.fieldName, args, () => work(actor)),
    // The key store reports a bad or reused key as a header issue: here it is the argument.
    (path, source) => (source === 'header' ? ['idempotencyKey'] : mapPath(path, source)),
  );
}

/**
 * `mutate` for a use case that takes a command built from the arguments: its issues (paths into the
 * command) are reported at the matching arguments, under `at` (`commandPathIn`).
 */
export function mutateCommand<T>(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  args: { idempotencyKey?: string | null },
  work: (actor: Actor) => Promise<T>,
  at?: string[],
): Promise<T> {
  return mutate(ctx, info, args, work, commandPathIn(info, args, at));
}

/**
 * The first successful result is stored in PostgreSQL (the REST door's `Idempotency-Key` store) as
 * JSON and returned again to retries: the GraphQL types resolve it like the original (DateTime
 * serializes ISO strings, every field reads a plain property).
 */
async function idempotent<T>(
  ctx: GraphQLContext,
  field: string,
  args: { idempotencyKey?: string | null },
  work: () => Promise<T>,
): Promise<T> {
  const { idempotencyKey: key, ...request } = args;
  if (key == null) return work();
  const actor = await ctx.actor();
  let executed: { result: T } | undefined;
  const response = await ctx.services.idempotency.run(
    actor.apiKeyId,
    key,
    { method: 'GRAPHQL', path: field, body: JSON.stringify(request) },
    async () => {
      const result = await work();
      executed = { result };
      // Services return plain views (never entities), so the result round-trips through JSON.
      const body = JSON.parse(JSON.stringify(result));
      return { status: 200, body, oneTimeSecret: holdsOneTimeSecret(result) };
    },
  );
  return executed ? executed.result : (response.body as T);
}

/** A new API key (create, rotate) or webhook signing secret: retries get a ConflictError instead of the secret again. */
function holdsOneTimeSecret(result: unknown): boolean {
  return typeof result === 'object' && result !== null && ('fullKey' in result || 'signingSecret' in result);
}
