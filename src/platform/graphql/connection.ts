import type { ObjectRef } from '@pothos/core';
import { ValidationError } from '../../shared/errors.js';
import { PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, type Page } from '../../shared/paging.js';
import { type BuilderTypes, builder } from './builder.js';

/** Relay-style connections over offset pages: opaque cursors, `totalCount`, `first` ≤ 100. */

export interface ConnectionPage<T> extends Page<T> {
  offset: number;
}

export const PageInfoRef = builder
  .objectRef<{
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  }>('PageInfo')
  .implement({
    description: 'Where a page sits in the whole list.',
    fields: (t) => ({
      hasNextPage: t.exposeBoolean('hasNextPage', {
        description: 'More items follow: pass `endCursor` as `after` to get them.',
      }),
      hasPreviousPage: t.exposeBoolean('hasPreviousPage', {
        description: 'Items come before this page (it was asked for with `after`).',
      }),
      startCursor: t.exposeString('startCursor', {
        nullable: true,
        description: 'The cursor of the first item; null on an empty page.',
      }),
      endCursor: t.exposeString('endCursor', {
        nullable: true,
        description: 'The cursor of the last item; null on an empty page.',
      }),
    }),
  });

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

export function connectionOf<T>(name: string, node: ObjectRef<BuilderTypes, T>) {
  const edge = builder.objectRef<{ cursor: string; node: T }>(`${name}Edge`).implement({
    description: `One ${name} in a page, with its cursor.`,
    fields: (t) => ({
      cursor: t.exposeString('cursor', {
        description: 'Opaque; pass it as `after` to get the items after this one.',
      }),
      node: t.field({ type: node, description: `The ${name}.`, resolve: (e) => e.node as never }),
    }),
  });
  return builder.objectRef<ConnectionPage<T>>(`${name}Connection`).implement({
    description: `A page of ${name} items. Pass \`endCursor\` as \`after\` to get the next page.`,
    fields: (t) => ({
      edges: t.field({
        type: [edge],
        description: 'The items of this page with their cursors.',
        resolve: (page) =>
          page.items.map((item, i) => ({ cursor: encodeCursor(page.offset + i), node: item })),
      }),
      nodes: t.field({
        type: [node],
        description: 'The items of this page, without cursors.',
        resolve: (page) => page.items as never,
      }),
      pageInfo: t.field({
        type: PageInfoRef,
        description: 'Whether more pages exist, and the cursors to reach them.',
        resolve: (page) => ({
          hasNextPage: page.offset + page.items.length < page.total,
          hasPreviousPage: page.offset > 0,
          startCursor: page.items.length ? encodeCursor(page.offset) : null,
          endCursor: page.items.length ? encodeCursor(page.offset + page.items.length - 1) : null,
        }),
      }),
      totalCount: t.exposeInt('total', { description: 'How many items match, across all pages.' }),
    }),
  });
}

export const SortOrderEnum = builder.enumType('SortOrder', {
  description: 'A sort direction.',
  values: {
    ASC: { value: 'asc', description: 'Ascending: A to Z, oldest first.' },
    DESC: { value: 'desc', description: 'Descending: Z to A, newest first.' },
  } as const,
});

/** The values of a `<Resource>OrderField` enum: name, creation time or last-change time. */
export const ORDER_FIELD_VALUES = {
  NAME: { value: 'name', description: 'By name.' },
  CREATED_AT: { value: 'created_at', description: 'By creation time.' },
  UPDATED_AT: { value: 'updated_at', description: 'By the time of the last change.' },
} as const;
