import type { ObjectRef } from '@pothos/core';
import { ValidationError } from '../../domain/errors.js';
import { PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, type Page } from '../../domain/paging.js';
import { type BuilderTypes, builder } from './builder.js';
import { describedValues } from './enums.js';

/** Relay connections over offset pages: opaque cursors, `totalCount`, `first` ≤ 100, forward only. */

/** A page as a connection resolver returns it: the items with their cursors, and the total. */
export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  totalCount: number;
}

export function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string): number | null {
  const match = /^offset:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : null;
}

/** Turns `first`/`after` into an offset and a limit, or throws a ValidationError naming the argument. */
export function pageArgs(args: { first?: number | null; after?: string | null }): {
  offset: number;
  limit: number;
} {
  const limit = args.first ?? PAGE_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMIT_MAX) {
    throw ValidationError.single(
      ['first'],
      `first must be between 1 and ${PAGE_LIMIT_MAX}`,
      'less_than_equal',
    );
  }
  if (args.after == null) return { offset: 0, limit };
  const position = decodeCursor(args.after);
  if (position === null)
    throw ValidationError.single(['after'], 'after is not a cursor from this API', 'value_error');
  return { offset: position + 1, limit };
}

/** The connection of an offset page (`offset`: the position of its first item in the whole list). */
export function connectionFrom<T>(page: Page<T>, offset: number): Connection<T> {
  const edges = page.items.map((node, i) => ({ cursor: encodeCursor(offset + i), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: offset + page.items.length < page.total,
      hasPreviousPage: offset > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: page.total,
  };
}

/**
 * `<Name>Connection` and `<Name>Edge` (the relay plugin's types; PageInfo is shared). The field that
 * returns it declares its own `first`/`after` arguments: only forward paging exists.
 */
export function connectionOf<T>(name: string, node: ObjectRef<BuilderTypes, T>) {
  return builder.connectionObject(
    {
      type: node,
      name: `${name}Connection`,
      description: `A page of ${name} items. Pass \`endCursor\` as \`after\` to get the next page.`,
      fields: (t) => ({
        totalCount: t.int({
          description: 'How many items match, across all pages.',
          resolve: (connection) => (connection as unknown as Connection<T>).totalCount,
        }),
      }),
    },
    {
      description: `One ${name} in a page, with its cursor.`,
      nodeField: { description: `The ${name}.` },
    },
  );
}

export const SortOrderEnum = builder.enumType('SortOrder', {
  description: 'A sort direction.',
  values: describedValues({
    asc: 'Ascending: A to Z, oldest first.',
    desc: 'Descending: Z to A, newest first.',
  }),
});

/** The values of a `<Resource>OrderField` enum: name, creation time or last-change time. */
export const ORDER_FIELD_VALUES = describedValues({
  name: 'By name.',
  created_at: 'By creation time.',
  updated_at: 'By the time of the last change.',
});
