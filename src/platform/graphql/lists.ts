import type { ArgBuilder, EnumRef, InputFieldMap, InputShapeFromFields, ObjectRef } from '@pothos/core';
import type { GraphQLResolveInfo } from 'graphql';
import { inWords } from '../../domain/names.js';
import { type ListQuery, nameSearchSchema } from '../../domain/paging.js';
import { authorize } from '../../domain/scopes.js';
import type { TeamList } from '../team-resource-service.js';
import { type BuilderTypes, builder, type GraphQLContext, type InputFieldBuilder } from './builder.js';
import {
  type Connection,
  connectionFrom,
  connectionOf,
  ORDER_FIELD_VALUES,
  pageArgs,
  SortOrderEnum,
} from './connection.js';
import { argumentPath, translate } from './error-types.js';
import { teamIdArg, validatedId } from './ids.js';
import { rootFieldScope } from './shield.js';

/** A team's list root field (`secrets`, `locations`, ...): the arguments, the order input and the resolver. */

/**
 * How a list words its `first` and `after` arguments, its name search `q` and the end of its
 * description. Two wordings exist in the published schema, which is a public contract, so both stay:
 * `TERSE` (secrets, apiKeys, webhooks, auditEvents) and `SPELLED_OUT` (locations, vaultConnections),
 * whose description also says that another team's id is NOT_FOUND (as every list answers it).
 */
export const LIST_WORDING = {
  TERSE: {
    first: '1–100, default 50.',
    after: 'The `endCursor` of the previous page.',
    q: 'Case-insensitive substring of the name.',
    notFoundNote: '',
  },
  SPELLED_OUT: {
    first: 'Page size, 1–100 (default 50).',
    after: 'The endCursor of the previous page.',
    q: 'Case-insensitive search in the name.',
    notFoundNote: " Another team's id is a NOT_FOUND error.",
  },
} as const;

type ListWording = (typeof LIST_WORDING)[keyof typeof LIST_WORDING];

/** The arguments every list takes first: the team, then the page (`first`, `after`). */
export function listArgs(arg: ArgBuilder<BuilderTypes>, wording: ListWording = LIST_WORDING.TERSE) {
  return {
    teamId: teamIdArg(arg),
    first: arg.int({ description: wording.first }),
    after: arg.string({ description: wording.after }),
  };
}

/** An `orderBy` argument's value: the sort key, and the direction (omitted: descending). */
export interface OrderArg<Sort extends string> {
  field: Sort;
  direction?: 'asc' | 'desc' | null;
}

/**
 * `<name>OrderField` (the sort keys, `values`) and `<name>Order` (a key and a direction): the type of a
 * list's `orderBy` argument. `declareDefaultDirection` states DESC as the direction's default value in
 * the schema (only `SecretOrder` does; the others say it in the description alone).
 */
export function orderInput<Sort extends string>(
  name: string,
  options: {
    description: string;
    fieldDescription: string;
    values: Record<string, { value: Sort; description: string }>;
    declareDefaultDirection?: boolean;
  },
) {
  const field = builder.enumType(`${name}OrderField`, {
    description: options.fieldDescription,
    values: options.values,
  });
  return builder.inputType(`${name}Order`, {
    description: options.description,
    fields: (t) => ({
      field: t.field({ type: field, required: true, description: 'The sort key.' }),
      direction: t.field({
        type: SortOrderEnum,
        description: 'Default DESC.',
        defaultValue: options.declareDefaultDirection ? 'desc' : undefined,
      }),
    }),
  });
}

/** The page, the order (default: newest first) and the name search of a list's arguments. */
export function listQuery<Sort extends string = never>(
  page: { offset: number; limit: number },
  orderBy: OrderArg<Sort> | null | undefined,
  q: string | null | undefined,
): ListQuery<Sort | 'created_at'> {
  return {
    ...page,
    sortBy: orderBy?.field ?? 'created_at',
    sortOrder: orderBy?.direction ?? 'desc',
    q: q || undefined,
  };
}

/**
 * Resolves a list field. As the REST router does before it reads a request, the field's scope (the one
 * graphql-shield checks, `ROOT_FIELD_SCOPES`) is applied to the team before the arguments are read:
 * another team's id is NOT_FOUND whatever its paging. Then `first`/`after` become the page, `toQuery`
 * adds the order and filters, and the service's page becomes the connection. Issues keep the
 * arguments' names (`first`, `filter.to`).
 */
export async function listConnection<Query, T>(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  args: { teamId: string | number; first?: number | null; after?: string | null },
  service: TeamList<Query, T>,
  toQuery: (page: { offset: number; limit: number }) => Query,
): Promise<Connection<T>> {
  const actor = await ctx.actor();
  const teamId = validatedId(args.teamId);
  const scope = rootFieldScope('Query', info.fieldName);
  return translate(async () => {
    authorize(actor, teamId, scope);
    const page = pageArgs(args);
    return connectionFrom(await service.list(actor, teamId, toQuery(page)), page.offset);
  }, argumentPath);
}

/** A list's `filter` argument: the fields of `<Type>Filter` (worded as the list is), and what they add to the query. */
interface ListFilter<Fields extends InputFieldMap, Filters> {
  fields: (t: InputFieldBuilder, wording: ListWording) => Fields;
  /** What an omitted filter means; default `Omitted: all <plural> of the team.` */
  omitted?: string;
  /** The query's filters (the name search `q` is read by `listQuery`): `filter` is `{}` when omitted. */
  query: (filter: Partial<InputShapeFromFields<Fields>>) => Filters;
}

/**
 * The filter of a named resource's list: `key`, only the items with this value of the enum `type`
 * (`description`), then the name search `q`.
 */
export function enumFilter<const Key extends string, Value>(
  key: Key,
  type: EnumRef<BuilderTypes, Value>,
  description: string,
) {
  return {
    fields: (t: InputFieldBuilder, wording: ListWording) => ({
      [key]: t.field({ type, description }),
      q: t.string({ validate: nameSearchSchema, description: wording.q }),
    }),
    query: (filter: Partial<Record<string, unknown>>) =>
      ({ [key]: filter[key] ?? undefined }) as { [K in Key]?: Value },
  };
}

/** A list's `orderBy` argument (`<Type>Order`): the sort keys, and a description other than the usual one. */
interface ListOrder<Sort extends string> {
  values: Record<string, { value: Sort; description: string }>;
  description?: string;
  declareDefaultDirection?: boolean;
}

type ListArgs<Sort extends string, Fields extends InputFieldMap> = Parameters<typeof listConnection>[2] & {
  orderBy?: OrderArg<Sort> | null;
  filter?: (Partial<InputShapeFromFields<Fields>> & { q?: string | null }) | null;
};

/**
 * `name(teamId, first, after, filter, orderBy)`, a team's list of `type` (`secrets`, `locations`, ...):
 * the field, its `<Type>Connection`, and the `<Type>Filter` and `<Type>Order` inputs of its
 * arguments; `plural` names the items in their descriptions (default: the name's words,
 * `vaultConnections` → `vault connections`). Newest first unless `orderBy` says otherwise (by default
 * by a named resource's keys, `ORDER_FIELD_VALUES`); `list` is the service's use case, resolved by
 * `listConnection`. The description says, unless given, what the list holds and the scope it needs.
 */
export function listField<T, Sort extends string, Fields extends InputFieldMap, Filters extends object>(
  name: string,
  options: {
    type: ObjectRef<BuilderTypes, T>;
    plural?: string;
    description?: string;
    wording?: ListWording;
    filter?: ListFilter<Fields, Filters>;
    order?: ListOrder<Sort>;
    list: (ctx: GraphQLContext) => TeamList<ListQuery<Sort | 'created_at'> & Filters, T>;
  },
) {
  const { type, filter, wording = LIST_WORDING.TERSE } = options;
  const plural = options.plural ?? inWords(name);
  const description =
    options.description ??
    `The team's ${plural}, newest first unless \`orderBy\` says otherwise. Needs ${rootFieldScope('Query', name)}.${wording.notFoundNote}`;
  const connection = connectionOf(type.name, type);
  const filterInput =
    filter &&
    builder.inputType(`${type.name}Filter`, {
      description: 'Narrows the list; every given condition must hold.',
      fields: (t) => filter.fields(t, wording),
    });
  const orderBy = orderInput(type.name, {
    description: `How to sort the ${plural}; ties are broken by id.`,
    fieldDescription: `What ${plural} can be sorted by.`,
    // The named resources' keys, which their services sort by.
    ...(options.order ?? { values: ORDER_FIELD_VALUES as ListOrder<Sort>['values'] }),
  });
  builder.queryField(name, (t) =>
    t.field({
      type: connection,
      description,
      args: {
        ...listArgs(t.arg, wording),
        ...(filterInput && {
          filter: t.arg({
            type: filterInput,
            description: filter.omitted ?? `Omitted: all ${plural} of the team.`,
          }),
        }),
        orderBy: t.arg({ type: orderBy, description: 'Omitted: newest first.' }),
      },
      resolve: (_, args, ctx, info) => {
        // The arguments, whose `filter` Pothos cannot type for fields it does not know.
        const given = args as unknown as ListArgs<Sort, Fields>;
        return listConnection(ctx, info, given, options.list(ctx), (page) => ({
          ...listQuery(page, given.orderBy, given.filter?.q),
          ...(filter?.query(given.filter ?? {}) as Filters),
        }));
      },
    }),
  );
}
