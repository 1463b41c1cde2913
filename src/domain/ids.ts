import { ValidationError } from './errors.js';
import { UUID_PATTERN } from './validation.js';

/** Validates named path ids (422 with loc ['path', name] when malformed) and returns them lower-cased. */
export function parsePathIds<K extends string>(ids: Record<K, string>): Record<K, string> {
  const issues = Object.entries<string>(ids)
    .filter(([, value]) => !UUID_PATTERN.test(value))
    .map(([name]) => ({
      path: [name],
      message: 'Input should be a valid UUID',
      code: 'uuid_parsing',
      source: 'path' as const,
    }));
  if (issues.length) throw new ValidationError(issues);
  return Object.fromEntries(Object.entries<string>(ids).map(([k, v]) => [k, v.toLowerCase()])) as Record<
    K,
    string
  >;
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/** The items by their id. */
export function byId<T extends { id: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [item.id, item]));
}
