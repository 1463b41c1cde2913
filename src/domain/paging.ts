import { z } from 'zod';
import { type CamelKeys, camelCase, NAME_MAX } from './names.js';
import { parseOrThrow } from './validation.js';

export const PAGE_LIMIT_MAX = 100;
export const PAGE_LIMIT_DEFAULT = 50;

export interface ListQuery<SortBy extends string> {
  offset: number;
  limit: number;
  sortBy: SortBy;
  sortOrder: 'asc' | 'desc';
  /** Case-insensitive name search. */
  q?: string;
}

export interface Page<T> {
  items: T[];
  total: number;
}

/** The last page: its offset, (page - 1) × limit, stays a safe integer (and a PostgreSQL bigint). */
export const PAGE_MAX = 1_000_000_000;

/**
 * A query-string integer in [min, max]. Any whole number parses, so one out of range is told its
 * range; beyond ±2^53 its exact value no longer matters (it is out of every range).
 */
const integerIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^[+-]?\d+$/, 'Input should be a valid integer')
    .transform((v) => Math.min(Math.max(Number(v), -Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER))
    .pipe(z.number().int().min(min).max(max));

/** A name search (`q`): a case-insensitive substring of a name, so no longer than a name. */
export const nameSearchSchema = z.string().max(NAME_MAX);

/** The list parameters every list takes, built once (their descriptions are for the OpenAPI document). */
const LIST_PARAMS = {
  page: integerIn(1, PAGE_MAX).optional().meta({ description: 'The page to return, from 1.', default: 1 }),
  limit: integerIn(1, PAGE_LIMIT_MAX)
    .optional()
    .meta({ description: 'Items per page.', default: PAGE_LIMIT_DEFAULT }),
  q: nameSearchSchema.optional().meta({ description: 'Case-insensitive substring of the name.' }),
  sort_order: z
    .enum(['asc', 'desc'])
    .optional()
    .meta({ description: 'The sort direction.', default: 'desc' }),
};

/** `search: false`: a list of things without a name (a delivery log) takes no `q`. */
interface ListOptions {
  search?: boolean;
}

/**
 * The zod object that validates REST list parameters (`page`, `limit`, `q`, `sort_by`, `sort_order`
 * and the resource's filters); also what the OpenAPI document describes the query string with.
 */
function restListQuerySchema<SortBy extends string, F extends z.ZodRawShape>(
  sortBy: readonly [SortBy, ...SortBy[]],
  defaultSort: SortBy,
  filters: F,
  { search = true }: ListOptions = {},
) {
  return z.strictObject({
    page: LIST_PARAMS.page,
    limit: LIST_PARAMS.limit,
    ...(search && { q: LIST_PARAMS.q }),
    sort_by: z.enum(sortBy).optional().meta({ description: 'The sort key.', default: defaultSort }),
    sort_order: LIST_PARAMS.sort_order,
    ...filters,
  });
}

/**
 * A REST list's query string, described once: the zod object the OpenAPI document shows
 * (`restListQuerySchema`), and `parse`, which validates a request's query string with it. Out-of-range
 * values are 422 with loc ['query', name], never silently clamped. `parse` gives the page asked for and
 * the list query a service's list takes: the paging and order, and the filters under their domain names
 * (`location_type`: `locationType`, worked out here once).
 */
export function restListQuery<SortBy extends string, F extends z.ZodRawShape>(
  sortBy: readonly [SortBy, ...SortBy[]],
  defaultSort: SortBy,
  filters: F,
  options: ListOptions = {},
) {
  const schema = restListQuerySchema(sortBy, defaultSort, filters, options);
  const filterNames = Object.keys(filters).map((name) => [name, camelCase(name)] as const);
  return {
    schema,
    parse: (query: URLSearchParams) => {
      const raw: Record<string, string> = {};
      for (const [key, value] of query) raw[key] = value;
      const parsed = parseOrThrow(schema, raw, [], 'query') as Record<string, unknown>;
      const page = (parsed.page as number | undefined) ?? 1;
      const limit = (parsed.limit as number | undefined) ?? PAGE_LIMIT_DEFAULT;
      const list: Record<string, unknown> = {
        offset: (page - 1) * limit,
        limit,
        sortBy: (parsed.sort_by as SortBy | undefined) ?? defaultSort,
        sortOrder: (parsed.sort_order as 'asc' | 'desc' | undefined) ?? 'desc',
        q: (parsed.q as string | undefined) || undefined,
      };
      for (const [name, key] of filterNames) list[key] = parsed[name];
      return { page, list: list as ListQuery<SortBy> & CamelKeys<z.output<z.ZodObject<F>>> };
    },
  };
}

/** The `pagination` object of every REST list response. */
export const paginationSchema = z
  .object({
    page: z.number().int().min(1),
    limit: z.number().int().min(1).max(PAGE_LIMIT_MAX),
    total: z.number().int().min(0),
    total_pages: z.number().int().min(0),
  })
  .meta({ id: 'Pagination' });

/** A REST list response of the given item schema (the shape `restPage` builds). */
export function restPageSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), pagination: paginationSchema });
}

export function restPage<T, R>(
  page: number,
  list: ListQuery<string>,
  result: Page<T>,
  view: (item: T) => R,
): { data: R[]; pagination: z.infer<typeof paginationSchema> } {
  return {
    data: result.items.map(view),
    pagination: {
      page,
      limit: list.limit,
      total: result.total,
      total_pages: Math.ceil(result.total / list.limit),
    },
  };
}

/**
 * The ORM find options of a list page: ordered by the entity property a sort key names (`created_at`:
 * `createdAt`), ties broken by id in the same direction so that pages stay stable when sort values repeat.
 */
export function pageFindOptions(query: ListQuery<string>) {
  return {
    orderBy: [{ [camelCase(query.sortBy)]: query.sortOrder }, { id: query.sortOrder }],
    limit: query.limit,
    offset: query.offset,
  };
}

/** How every named resource (secrets, locations, vault connections, webhooks) can be sorted. */
export const NAMED_RESOURCE_SORTS = ['name', 'created_at', 'updated_at'] as const;
export type NamedResourceSort = (typeof NAMED_RESOURCE_SORTS)[number];
export type NamedResourceListQuery = ListQuery<NamedResourceSort>;
/** A named resource's list query with the filter its list takes: the view's field of that name, optional. */
export type FilteredListQuery<View, Filter extends keyof View> = NamedResourceListQuery &
  Partial<Pick<View, Filter>>;

/** The ORM condition of a name search (`q`): a case-insensitive substring; none without `q`. */
export function nameContains(q: string | undefined): { name?: { $ilike: string } } {
  return q ? { name: { $ilike: containsPattern(q) } } : {};
}

/** `ilike` pattern for a case-insensitive substring search, with the wildcards in the input escaped. */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
