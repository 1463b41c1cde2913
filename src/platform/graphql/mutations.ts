import type { ArgBuilder, InputObjectRef, ObjectRef } from '@pothos/core';
import { camelCase, capitalized, inWords, type Patch, patchOf } from '../../domain/names.js';
import type { Actor } from '../../domain/scopes.js';
import { type BuilderTypes, builder, type GraphQLContext } from './builder.js';
import { deletedResult, type directResult, wrappedResult } from './error-types.js';
import { idempotencyKeyArg, mutate, mutateCommand } from './idempotency.js';
import {
  type IdsOf,
  idsOf,
  type ResourceArgs,
  type ResourceIdArg,
  resourceArgs,
  teamIdArg,
  validatedId,
} from './ids.js';
import { rootFieldScope } from './shield.js';

/** The pieces every mutation of a team's resources is made of, worded alike across the schema. */

/**
 * A mutation named after what it does to which resource, `<verb><Resource>` (`createVaultConnection`):
 * the resource as descriptions name it (`vault connection`) and its id argument follow from the name.
 */
const RESOURCE_VERB = /^(create|update|delete)(?=[A-Z])/;
type VerbName = `${'create' | 'update' | 'delete'}${string}`;

/** The id argument of the mutation `Name` of one resource: `updateLocation` → `['locationId', 'location']`. */
type NamedIdArg<Name extends string> = Name extends `${'update' | 'delete'}${infer Resource}`
  ? readonly [`${Uncapitalize<Resource>}Id`, string]
  : never;

/** The resource a mutation named `<verb><Resource>` is about, as descriptions name it: `vault connection`. */
function resourceOf(name: VerbName): string {
  if (!RESOURCE_VERB.test(name)) throw new Error(`${name} does not name its resource after a verb`);
  return inWords(name.replace(RESOURCE_VERB, ''));
}

/** The id argument `<resource>Id` of the resource the mutation's name ends with (typed `NamedIdArg<name>`). */
function namedIdArg<Id extends ResourceIdArg>(name: string): Id {
  const resource = name.replace(RESOURCE_VERB, '');
  return [`${resource.charAt(0).toLowerCase()}${resource.slice(1)}Id`, resourceOf(name as VerbName)] as never;
}

/** A mutation's required `input` argument. */
export function inputArg<Fields extends object>(
  arg: ArgBuilder<BuilderTypes>,
  type: InputObjectRef<BuilderTypes, Fields>,
  description: string,
) {
  return arg({ type, required: true, description });
}

type IdempotencyKeyArg = { idempotencyKey: ReturnType<typeof idempotencyKeyArg> };

/** A create mutation's arguments: `teamId`, `input` and `idempotencyKey` (`note`: what differs for this one). */
export function createArgs<Fields extends object>(
  arg: ArgBuilder<BuilderTypes>,
  input: InputObjectRef<BuilderTypes, Fields>,
  description: string,
  idempotencyNote?: string,
) {
  return {
    teamId: teamIdArg(arg),
    input: inputArg(arg, input, description),
    idempotencyKey: idempotencyKeyArg(arg, idempotencyNote),
  };
}

/** The arguments of a mutation of one resource: `teamId`, the id argument naming it, `idempotencyKey`. */
export function resourceMutationArgs<const Id extends string>(
  arg: ArgBuilder<BuilderTypes>,
  [id, resource]: readonly [arg: Id, resource: string, key?: string],
  idempotencyNote?: string,
): ResourceArgs<Id> & IdempotencyKeyArg {
  return { ...resourceArgs(arg, id, resource), idempotencyKey: idempotencyKeyArg(arg, idempotencyNote) };
}

/** A change mutation's arguments: `resourceMutationArgs` with the `input` (the fields to change) before the key. */
export function changeArgs<const Id extends string, Fields extends object>(
  arg: ArgBuilder<BuilderTypes>,
  [id, resource]: readonly [arg: Id, resource: string, key?: string],
  input: InputObjectRef<BuilderTypes, Fields>,
  description = 'The fields to change.',
): ResourceArgs<Id> & { input: ReturnType<typeof inputArg<Fields>> } & IdempotencyKeyArg {
  return {
    ...resourceArgs(arg, id, resource),
    input: inputArg(arg, input, description),
    idempotencyKey: idempotencyKeyArg(arg),
  };
}

/**
 * `<name>Result` of a mutation whose payload is the resource it has `verb` (created, updated,
 * revoked): `changedResult('UpdateLocation', 'location', 'updated')`.
 */
export function changedResult(
  name: string,
  resource: string,
  verb: 'created' | 'updated' | 'revoked',
  dataDescription = `The ${resource}, as ${verb}.`,
) {
  return wrappedResult(name, {
    success: `The ${resource} was ${verb}.`,
    union: `The ${verb} ${resource}, or why nothing was ${verb === 'created' ? 'created' : 'changed'}.`,
    data: [camelCase(resource.toLowerCase().replaceAll(' ', '_')), dataDescription],
  });
}

/** A mutation's `errors` option: its result union, as `wrappedResult`, `changedResult` or `directResult` make it. */
type MutationResult = ReturnType<typeof wrappedResult> | ReturnType<typeof directResult>;

/**
 * What a mutation's description says: `what` it does, then the scope it needs (the one shield checks,
 * `ROOT_FIELD_SCOPES`) and admin; `also` goes on with that sentence (`, and every scope of the key.`).
 */
interface MutationWording {
  what: string;
  also?: string;
}

/** `<what> Needs <scope> and admin<also>`, the description of the mutation `name`. */
function mutationDescription(name: string, { what, also = '.' }: MutationWording) {
  return `${what} Needs ${rootFieldScope('Mutation', name)} and admin${also}`;
}

/** What every mutation field states: its type (the payload), and what it does (`MutationWording`). */
interface MutationOptions<Result> extends MutationWording {
  type: ObjectRef<BuilderTypes, Result>;
}

/**
 * `name(teamId, input, idempotencyKey)`, e.g. `createLocation`: `create` makes one `resource` (default:
 * the one the name ends with) of the team from `input` ("The new location."); its issues are reported
 * at the input's fields, or under `commandAt`. The result union is `changedResult`'s unless `errors`
 * says otherwise.
 */
export function createField<Input extends object, Result>(
  name: `create${string}`,
  options: MutationOptions<Result> & {
    resource?: string;
    input: InputObjectRef<BuilderTypes, Input>;
    errors?: MutationResult;
    idempotencyNote?: string;
    commandAt?: string[];
    create(ctx: GraphQLContext, actor: Actor, teamId: string, input: Input): Promise<Result>;
  },
) {
  const { resource = resourceOf(name) } = options;
  builder.mutationField(name, (t) =>
    t.field({
      type: options.type as ObjectRef<BuilderTypes, unknown>,
      description: mutationDescription(name, options),
      args: createArgs(t.arg, options.input, `The new ${resource}.`, options.idempotencyNote),
      errors: options.errors ?? changedResult(capitalized(name), resource, 'created'),
      resolve: (_, args, ctx, info) => {
        const { teamId, input } = args as unknown as { teamId: string; input: Input };
        const work = (actor: Actor) => options.create(ctx, actor, validatedId(teamId), input);
        return mutateCommand(ctx, info, args, work, options.commandAt);
      },
    }),
  );
}

/**
 * `name(teamId, <id>, input, idempotencyKey)`, e.g. `updateLocation`: `change` applies `input` (its
 * description: `changeArgs`'s unless given) to one resource of the team; its issues are reported at the
 * input's fields. Without `input`, `name(teamId, <id>, idempotencyKey)`. The id argument is
 * `NamedIdArg`'s unless `id` says otherwise. The result union is an update's `changedResult` unless
 * `errors` says otherwise.
 */
export function resourceMutationField<
  Input extends object,
  Result,
  const Name extends string,
  const Id extends ResourceIdArg = NamedIdArg<Name>,
>(
  name: Name,
  options: MutationOptions<Result> & {
    id?: Id;
    input?: InputObjectRef<BuilderTypes, Input>;
    inputDescription?: string;
    errors?: MutationResult;
    idempotencyNote?: string;
    change(ctx: GraphQLContext, actor: Actor, ids: IdsOf<Id>, input: Input): Promise<Result>;
  },
) {
  const { id = namedIdArg<Id>(name), input } = options;
  builder.mutationField(name, (t) =>
    t.field({
      type: options.type as ObjectRef<BuilderTypes, unknown>,
      description: mutationDescription(name, options),
      args: input
        ? changeArgs(t.arg, id, input, options.inputDescription)
        : resourceMutationArgs(t.arg, id, options.idempotencyNote),
      errors: options.errors ?? changedResult(capitalized(name), id[1], 'updated'),
      resolve: (_, args, ctx, info) => {
        const given = args as unknown as Record<string, string> & { input: Input };
        const ids = idsOf(given, id);
        const work = (actor: Actor) => options.change(ctx, actor, ids, given.input);
        return input ? mutateCommand(ctx, info, args, work) : mutate(ctx, info, args, work);
      },
    }),
  );
}

/**
 * A `resourceMutationField` with an input whose fields apply as sent, e.g. `updateLocation`: `apply`
 * takes them as `patchOf` makes them (a null clears the fields in `clearable`, else means unchanged).
 */
export function patchField<
  Input extends object,
  Result,
  const Name extends string,
  const Id extends ResourceIdArg = NamedIdArg<Name>,
  Clearable extends keyof Input = never,
>(
  name: Name,
  options: Omit<Parameters<typeof resourceMutationField<Input, Result, Name, Id>>[1], 'input' | 'change'> & {
    input: InputObjectRef<BuilderTypes, Input>;
    clearable?: readonly Clearable[];
    apply(ctx: GraphQLContext, actor: Actor, ids: IdsOf<Id>, patch: Patch<Input, Clearable>): Promise<Result>;
  },
) {
  const { clearable, apply, ...field } = options;
  resourceMutationField<Input, Result, Name, Id>(name, {
    ...field,
    change: (ctx, actor, ids, input) => apply(ctx, actor, ids, patchOf(input, clearable)),
  });
}

/**
 * `name(teamId, <id>, idempotencyKey)`, e.g. `deleteLocation`: removes one resource of the team
 * and returns its id (`DeleteLocationResult`). `what` says what it removes (`MutationWording`); the id
 * argument is `NamedIdArg`'s unless `id` says otherwise.
 */
export function deleteField<
  const Name extends `delete${string}`,
  const Id extends ResourceIdArg = NamedIdArg<Name>,
>(
  name: Name,
  options: MutationWording & {
    id?: Id;
    remove(ctx: GraphQLContext, actor: Actor, ids: IdsOf<Id>): Promise<void>;
  },
) {
  const { id = namedIdArg<Id>(name) } = options;
  builder.mutationField(name, (t) =>
    t.field({
      type: 'ID',
      description: mutationDescription(name, options),
      args: resourceMutationArgs(t.arg, id),
      errors: deletedResult(name.slice('delete'.length), id[1]),
      resolve: (_, args, ctx, info) => {
        const given = args as unknown as Record<string, string>;
        const ids = idsOf(given, id);
        return mutate(ctx, info, args, async (actor) => {
          await options.remove(ctx, actor, ids);
          return validatedId(given[id[0]]!);
        });
      },
    }),
  );
}
