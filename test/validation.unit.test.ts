/**
 * The validation mapping without a server: zod issues become the API's issues (path, pydantic-style
 * message and code, the part of the request they point into), which the REST door renders as
 * `{loc: [source, ...path], msg, type}`; and the storable-text check every input goes through.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Issue, ValidationError } from '../src/domain/errors.js';
import {
  parseOrThrow,
  TIMESTAMP_MAX,
  TIMESTAMP_MIN,
  timestampInput,
  UUID_PATTERN,
  unstorableText,
  zodIssueToIssues,
} from '../src/domain/validation.js';

/** The issues `parseOrThrow` raises for `input` (it must throw). */
function issuesOf(schema: z.ZodType, input: unknown, prefix: Issue['path'] = [], source?: Issue['source']) {
  try {
    parseOrThrow(schema, input, prefix, source);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

const body = z.strictObject({
  name: z.string().min(1).max(5),
  count: z.number().int().min(0).max(10).optional(),
  tags: z.array(z.string()).max(2).optional(),
  kind: z.enum(['a', 'b']).optional(),
  settings: z.object({ flag: z.boolean() }).optional(),
});

describe('zod issues → API issues', () => {
  it('a valid input passes through as parsed', () => {
    expect(parseOrThrow(body, { name: 'ok', count: 3 })).toEqual({ name: 'ok', count: 3 });
  });

  it('a missing field is "Field required" / missing, at its path under the prefix, from the given source', () => {
    expect(issuesOf(body, {}, ['value'], 'body')).toEqual([
      { path: ['value', 'name'], message: 'Field required', code: 'missing', source: 'body' },
    ]);
  });

  it('wrong types are named in the API’s words: object → dict, array → list, number → float', () => {
    expect(issuesOf(body, { name: 5 })).toEqual([
      { path: ['name'], message: 'Input should be a valid string', code: 'string_type', source: 'body' },
    ]);
    expect(issuesOf(body, { name: 'x', settings: 'no' })[0]).toMatchObject({
      path: ['settings'],
      message: 'Input should be a valid object',
      code: 'dict_type',
    });
    expect(issuesOf(body, { name: 'x', tags: 'no' })[0]).toMatchObject({
      message: 'Input should be a valid list',
      code: 'list_type',
    });
    expect(issuesOf(body, { name: 'x', count: 'no' })[0]).toMatchObject({
      message: 'Input should be a valid number',
      code: 'float_type',
    });
    expect(issuesOf(body, { name: 'x', settings: { flag: 1 } })[0]).toMatchObject({
      path: ['settings', 'flag'],
      code: 'boolean_type',
    });
  });

  it('length and range bounds say the bound, in singular where it is one', () => {
    expect(issuesOf(body, { name: '' })[0]).toMatchObject({
      message: 'String should have at least 1 character',
      code: 'string_too_short',
    });
    expect(issuesOf(z.string().min(3), 'x')[0]).toMatchObject({
      message: 'String should have at least 3 characters',
    });
    expect(issuesOf(body, { name: 'toolong' })[0]).toMatchObject({
      message: 'String should have at most 5 characters',
      code: 'string_too_long',
    });
    expect(issuesOf(body, { name: 'x', count: 11 })[0]).toMatchObject({
      message: 'Input should be less than or equal to 10',
      code: 'less_than_equal',
    });
    expect(issuesOf(body, { name: 'x', count: -1 })[0]).toMatchObject({
      message: 'Input should be greater than or equal to 0',
      code: 'greater_than_equal',
    });
    expect(issuesOf(body, { name: 'x', tags: ['a', 'b', 'c'] })[0]).toMatchObject({
      message: 'List should have at most 2 items',
      code: 'too_long',
    });
    expect(issuesOf(z.array(z.string()).min(1), [])[0]).toMatchObject({
      message: 'List should have at least 1 items',
      code: 'too_short',
    });
  });

  it('an enum lists the allowed values; an unknown key is one extra_forbidden issue per key, at the key', () => {
    expect(issuesOf(body, { name: 'x', kind: 'c' })[0]).toMatchObject({
      path: ['kind'],
      message: "Input should be 'a', 'b'",
      code: 'enum',
    });
    expect(issuesOf(body, { name: 'x', foo: 1, bar: 2 }, [], 'query')).toEqual([
      { path: ['foo'], message: 'Extra inputs are not permitted', code: 'extra_forbidden', source: 'query' },
      { path: ['bar'], message: 'Extra inputs are not permitted', code: 'extra_forbidden', source: 'query' },
    ]);
  });

  it('a custom refinement keeps its message and takes its code from params (value_error without)', () => {
    const refined = z.string().refine((v) => v.startsWith('x'), { message: 'Must start with x' });
    expect(issuesOf(refined, 'a')).toEqual([
      { path: [], message: 'Must start with x', code: 'value_error', source: 'body' },
    ]);
    const coded = z.string().refine((v) => v.startsWith('x'), { message: 'No', params: { code: 'prefix' } });
    expect(issuesOf(coded, 'a')[0]!.code).toBe('prefix');
  });

  it('messages never echo the input value', () => {
    const secret = 'SECRET-INPUT-VALUE';
    for (const schema of [z.number(), z.enum(['a']), z.string().max(3), z.iso.datetime()]) {
      for (const issue of issuesOf(schema, secret)) expect(issue.message).not.toContain(secret);
    }
  });

  it('zodIssueToIssues leaves out the source when none is given (a path into the command)', () => {
    const result = z.object({ a: z.string() }).safeParse({});
    expect(result.success).toBe(false);
    expect(zodIssueToIssues(result.error!.issues[0]!, ['value'])).toEqual([
      { path: ['value', 'a'], message: 'Field required', code: 'missing', source: undefined },
    ]);
  });
});

describe('ValidationError', () => {
  it('its message names each path (or "input") with its message', () => {
    const error = new ValidationError([
      { path: ['a', 0, 'b'], message: 'Bad', code: 'value_error' },
      { path: [], message: 'Worse', code: 'value_error' },
    ]);
    expect(error.message).toBe('a.0.b: Bad; input: Worse');
    expect(error.name).toBe('ValidationError');
    expect(ValidationError.single(['x'], 'Nope').issues).toEqual([
      { path: ['x'], message: 'Nope', code: 'value_error' },
    ]);
  });
});

describe('text PostgreSQL cannot store, and timestamps', () => {
  it('NUL and unpaired surrogates anywhere in the input are named at their path; other text passes', () => {
    const input = { ok: 'fine ✓', a: 'x\u0000y', list: ['ok', '\uD800'], nested: { b: 'a\uDFFFb' } };
    expect(unstorableText(input, ['body'], 'body')).toEqual([
      {
        path: ['body', 'a'],
        message: 'Must not contain NUL characters',
        code: 'string_pattern_mismatch',
        source: 'body',
      },
      {
        path: ['body', 'list', 1],
        message: 'Must be valid Unicode text',
        code: 'string_unicode',
        source: 'body',
      },
      {
        path: ['body', 'nested', 'b'],
        message: 'Must be valid Unicode text',
        code: 'string_unicode',
        source: 'body',
      },
    ]);
    expect(unstorableText({ emoji: '😀', n: 1, t: true, z: null })).toEqual([]);
  });

  it('parseOrThrow refuses unstorable text before the schema is consulted', () => {
    expect(issuesOf(z.any(), { name: 'a\u0000' })).toEqual([
      {
        path: ['name'],
        message: 'Must not contain NUL characters',
        code: 'string_pattern_mismatch',
        source: 'body',
      },
    ]);
  });

  it('timestamps: ISO-8601 with an offset, within years 0001–9999', () => {
    expect(timestampInput.safeParse(TIMESTAMP_MIN).success).toBe(true);
    expect(timestampInput.safeParse(TIMESTAMP_MAX).success).toBe(true);
    expect(timestampInput.safeParse('2030-01-01T00:00:00+02:00').success).toBe(true);
    expect(issuesOf(timestampInput, '0000-12-31T23:59:59Z')[0]).toMatchObject({ code: 'datetime_range' });
    expect(issuesOf(timestampInput, 'tomorrow')).toEqual([
      {
        path: [],
        message: 'Input should be a valid ISO-8601 date-time',
        code: 'datetime_parsing',
        source: 'body',
      },
    ]);
  });

  it('UUID_PATTERN: any 8-4-4-4-12 hex, either case; nothing else', () => {
    expect(UUID_PATTERN.test('00000000-0000-4000-8000-00000000DEAD')).toBe(true);
    expect(UUID_PATTERN.test('00000000-0000-4000-8000-00000000dea')).toBe(false);
    expect(UUID_PATTERN.test('00000000000040008000000000000dead')).toBe(false);
  });
});
