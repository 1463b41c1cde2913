import { z } from 'zod';
import { type Issue, ValidationError } from './errors.js';

/** Any 8-4-4-4-12 hex UUID (like pydantic's UUID), normalised to lower case by `uuid()`. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Parses a door's input with a zod schema, or throws a ValidationError whose issues read like
 * pydantic's, at paths into that input (`source` says which part of the request it is).
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: Issue['path'] = [],
  source: Issue['source'] = 'body',
): z.output<S> {
  assertStorable(input, prefix, source);
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new ValidationError(result.error.issues.flatMap((issue) => zodIssueToIssues(issue, prefix, source)));
}

/**
 * Text PostgreSQL stores faithfully: no NUL character (a text value cannot hold one) and well-formed
 * Unicode (an unpaired surrogate would be stored as U+FFFD). Checked for every string anywhere in an
 * input (object keys' values and list items too) by both doors: REST through `parseOrThrow`, GraphQL
 * through the builder's storable-input plugin. One issue per offending string, at its path.
 */
export function unstorableText(value: unknown, path: Issue['path'] = [], source?: Issue['source']): Issue[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000'))
      return [{ path, message: 'Must not contain NUL characters', code: 'string_pattern_mismatch', source }];
    if (!value.isWellFormed())
      return [{ path, message: 'Must be valid Unicode text', code: 'string_unicode', source }];
    return [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => unstorableText(item, [...path, i], source));
  if (value && typeof value === 'object') {
    return Object.keys(value).flatMap((key) =>
      unstorableText((value as Record<string, unknown>)[key], [...path, key], source),
    );
  }
  return [];
}

/** Throws a ValidationError naming every string in `input` that PostgreSQL cannot store (see `unstorableText`). */
export function assertStorable(input: unknown, prefix: Issue['path'] = [], source?: Issue['source']): void {
  const issues = unstorableText(input, prefix, source);
  if (issues.length) throw new ValidationError(issues);
}

/**
 * The instants both doors accept: years 0001 to 9999 in UTC. PostgreSQL's own range is wider (4713 BC
 * to 294276 AD), but the ORM sends a timestamp as JavaScript's ISO text (`toISOString`), and outside
 * four-digit years PostgreSQL (15, and the embedded PGlite alike) refuses that text: year 0 does not
 * exist ('0000-01-01...'), '-000001-...' is no timestamp, and '+275760-...' reads as a time zone.
 */
export const TIMESTAMP_MIN = '0001-01-01T00:00:00.000Z';
export const TIMESTAMP_MAX = '9999-12-31T23:59:59.999Z';

function withinTimestampRange(value: string): boolean {
  const at = Date.parse(value);
  return at >= Date.parse(TIMESTAMP_MIN) && at <= Date.parse(TIMESTAMP_MAX);
}

/**
 * An input timestamp, on both doors: ISO-8601 with `Z` or an offset, within TIMESTAMP_MIN..TIMESTAMP_MAX.
 * Each check stops the ones after it, so a value gets one issue, and refinements added by callers
 * (e.g. "in the future") see only valid timestamps.
 */
export const timestampInput = z.iso
  .datetime({ offset: true, message: 'Input should be a valid ISO-8601 date-time', abort: true })
  .refine(withinTimestampRange, {
    message: `Must be between ${TIMESTAMP_MIN} and ${TIMESTAMP_MAX}`,
    params: { code: 'datetime_range' },
    abort: true,
  });

/** A JSON object kept as it is (no copying), so keys such as "__proto__" stay visible as own keys. */
export const plainObject = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  { message: 'Input should be a valid object', params: { code: 'dict_type' } },
);

/** One zod issue as domain issues (one per unknown key), with pydantic-style codes and messages that never echo the input. */
export function zodIssueToIssues(
  issue: z.core.$ZodIssue,
  prefix: Issue['path'] = [],
  source?: Issue['source'],
): Issue[] {
  const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  const one = (message: string, code: string, at = path): Issue[] => [{ path: at, message, code, source }];
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return one('Field required', 'missing');
      return one(`Input should be a valid ${typeName(issue.expected)}`, `${typeCode(issue.expected)}_type`);
    case 'too_big':
      if (issue.origin === 'string') {
        return one(`String should have at most ${issue.maximum} characters`, 'string_too_long');
      }
      if (issue.origin === 'array') return one(`List should have at most ${issue.maximum} items`, 'too_long');
      return one(`Input should be less than or equal to ${issue.maximum}`, 'less_than_equal');
    case 'too_small':
      if (issue.origin === 'string') {
        return one(
          `String should have at least ${issue.minimum} character${issue.minimum === 1 ? '' : 's'}`,
          'string_too_short',
        );
      }
      if (issue.origin === 'array')
        return one(`List should have at least ${issue.minimum} items`, 'too_short');
      return one(`Input should be greater than or equal to ${issue.minimum}`, 'greater_than_equal');
    case 'invalid_value':
      return one(
        `Input should be ${issue.values.map((v) => `'${String(v)}'`).join(', ')}`.slice(0, 1000),
        'enum',
      );
    case 'unrecognized_keys':
      return issue.keys.flatMap((key) =>
        one('Extra inputs are not permitted', 'extra_forbidden', [...path, key]),
      );
    case 'invalid_format':
      return one(issue.message ?? `Input should be a valid ${issue.format}`, `${issue.format}_parsing`);
    case 'custom':
      return one(issue.message, (issue.params?.code as string | undefined) ?? 'value_error');
    default:
      return one(issue.message, 'value_error');
  }
}

function typeName(expected: string): string {
  if (expected === 'object' || expected === 'record') return 'object';
  if (expected === 'array') return 'list';
  return expected;
}

function typeCode(expected: string): string {
  if (expected === 'object' || expected === 'record') return 'dict';
  if (expected === 'array') return 'list';
  if (expected === 'number') return 'float';
  return expected;
}
