import type { ObjectRef } from '@pothos/core';
import { ValidationError } from '../domain/errors.js';
import { PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, type Page } from '../domain/paging.js';
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
    fields: (t) => ({
      hasNextPage: t.exposeBoolean('hasNextPage'),
      hasPreviousPage: t.exposeBoolean('hasPreviousPage'),
      startCursor: t.exposeString('startCursor', { nullable: true }),
      endCursor: t.exposeString('endCursor', { nullable: true }),
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
    fields: (t) => ({
      cursor: t.exposeString('cursor'),
      node: t.field({ type: node, resolve: (e) => e.node as never }),
    }),
  });
  return builder.objectRef<ConnectionPage<T>>(`${name}Connection`).implement({
    description: `A page of ${name} items. Pass \`endCursor\` as \`after\` to get the next page.`,
    fields: (t) => ({
      edges: t.field({
        type: [edge],
        resolve: (page) =>
          page.items.map((item, i) => ({ cursor: encodeCursor(page.offset + i), node: item })),
      }),
      nodes: t.field({ type: [node], resolve: (page) => page.items as never }),
      pageInfo: t.field({
        type: PageInfoRef,
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
  values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } } as const,
});
