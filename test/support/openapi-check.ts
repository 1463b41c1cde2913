/**
 * Checks recorded REST exchanges (test/support/harness.ts `restExchanges`) against the OpenAPI document:
 * the status is documented for the operation, the body matches the documented schema (ajv, JSON Schema
 * 2020-12 as OpenAPI 3.1 uses it), required headers are present and every header has its documented form.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { JsonSchema, OpenApiDocument } from '../../src/app/openapi.js';

/** One exchange made through `rest()`, as test/openapi.test.ts checks it against the OpenAPI document. */
export interface RestExchange {
  method: string;
  /** The path without the query string. */
  path: string;
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The parsed JSON body; undefined when there is none (or it is not JSON). */
  body: unknown;
  text: string;
}

const SCHEMAS_ID = 'https://openapi.invalid/components';
const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'] as const;
/** Headers whose presence must be documented for the response that carries them. */
const DOCUMENTED_WHEN_PRESENT = [
  'etag',
  'retry-after',
  'www-authenticate',
  'idempotent-replayed',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-request-id',
];

export interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Literal path segments: the most specific template wins. */
  literals: number;
  op: JsonSchema;
}

/** An ajv for the document's schemas: strict, with the formats our schemas use. */
export function createAjv(): Ajv2020 {
  // Strict, except for two authoring styles zod uses: `type: ["string", "null"]` and open tuples (`loc`).
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, strictTuples: false, allErrors: true });
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (value: string) =>
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) &&
      !Number.isNaN(Date.parse(value)),
  });
  return ajv;
}

/** `#/a/b` in the document, or undefined. */
export function resolvePointer(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Follows `$ref`s (to components.responses, components.headers, ...) to the object they name. */
export function deref(document: unknown, value: unknown): JsonSchema {
  let node = value as JsonSchema;
  for (let hops = 0; typeof node?.$ref === 'string' && hops < 10; hops++) {
    const target = resolvePointer(document, node.$ref as string);
    if (target === undefined) throw new Error(`Unresolved $ref ${node.$ref}`);
    node = target as JsonSchema;
  }
  return node;
}

/** Every operation of the document, with a pattern that matches its concrete paths. */
export function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    const source = template
      .split('/')
      .map((segment) =>
        /^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const literals = template.split('/').filter((s) => s && !s.startsWith('{')).length;
    for (const method of METHODS) {
      const op = (item as unknown as Record<string, JsonSchema>)[method];
      if (op)
        operations.push({
          method: method.toUpperCase(),
          template,
          pattern: new RegExp(`^${source}$`),
          literals,
          op,
        });
    }
  }
  return operations;
}

/** Compiles JSON Schemas of the document (their `#/components/schemas/...` refs included), cached. */
export class SchemaValidators {
  private readonly ajv = createAjv();
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(document: OpenApiDocument) {
    this.ajv.addSchema({ $id: SCHEMAS_ID, $defs: toDefs(document.components.schemas) });
  }

  validator(schema: JsonSchema): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.cache.get(key);
    if (!validate) {
      validate = this.ajv.compile(toDefs(schema) as JsonSchema);
      this.cache.set(key, validate);
    }
    return validate;
  }

  errors(validate: ValidateFunction): string {
    return this.ajv.errorsText(validate.errors, { separator: '; ' });
  }
}

/** `#/components/schemas/X` → a ref into the schema document ajv knows. */
function toDefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toDefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) =>
      key === '$ref' && typeof inner === 'string'
        ? [key, inner.replace(/^#\/components\/schemas\//, `${SCHEMAS_ID}#/$defs/`)]
        : [key, toDefs(inner)],
    ),
  );
}

export interface CheckResult {
  /** What does not match the document; empty when everything does. */
  problems: string[];
  /** Exchanges whose path is no documented path (e.g. 404s for unknown paths). */
  unmatched: string[];
  /** `METHOD template status` of every exchange that was checked. */
  covered: Set<string>;
}

export function checkExchanges(document: OpenApiDocument, exchanges: RestExchange[]): CheckResult {
  const operations = operationsOf(document);
  const validators = new SchemaValidators(document);
  const result: CheckResult = { problems: [], unmatched: [], covered: new Set() };
  for (const exchange of exchanges) {
    const method = exchange.method.toUpperCase();
    const onPath = operations.filter((o) => o.pattern.test(exchange.path));
    if (onPath.length === 0) {
      result.unmatched.push(`${method} ${exchange.path} → ${exchange.status}`);
      continue;
    }
    const operation = onPath.filter((o) => o.method === method).sort((a, b) => b.literals - a.literals)[0];
    if (!operation) {
      // Another method on a documented path: the router's 405 (or a 404), not an operation's answer.
      if (exchange.status !== 405 && exchange.status !== 404) {
        result.problems.push(
          `${method} ${exchange.path}: no such operation, yet it answered ${exchange.status}`,
        );
      }
      continue;
    }
    const where = `${method} ${operation.template} → ${exchange.status}`;
    result.covered.add(`${method} ${operation.template} ${exchange.status}`);
    const responses = operation.op.responses as Record<string, unknown>;
    const declared = responses[String(exchange.status)] ?? responses.default;
    if (!declared) {
      result.problems.push(
        `${where}: status not documented (documented: ${Object.keys(responses).join(', ')}); body ${exchange.text.slice(0, 200)}`,
      );
      continue;
    }
    const response = deref(document, declared);
    const content = response.content as Record<string, { schema: JsonSchema }> | undefined;
    const json = content?.['application/json'];
    if (json) {
      if (!String(exchange.headers['content-type'] ?? '').startsWith('application/json')) {
        result.problems.push(
          `${where}: content-type ${exchange.headers['content-type']}, documented application/json`,
        );
      }
      if (exchange.body === undefined) {
        result.problems.push(`${where}: no JSON body, documented ${JSON.stringify(json.schema)}`);
      } else {
        const validate = validators.validator(json.schema);
        if (!validate(exchange.body)) {
          result.problems.push(
            `${where}: body does not match ${JSON.stringify(json.schema)}: ${validators.errors(validate)}; body ${exchange.text.slice(0, 300)}`,
          );
        }
      }
    } else if (!content && exchange.text !== '') {
      result.problems.push(`${where}: has a body, documented none: ${exchange.text.slice(0, 200)}`);
    }
    const headers = Object.fromEntries(
      Object.entries((response.headers ?? {}) as Record<string, unknown>).map(([name, h]) => [
        name.toLowerCase(),
        deref(document, h),
      ]),
    );
    for (const [name, header] of Object.entries(headers)) {
      const value = exchange.headers[name];
      if (value === undefined) {
        if (header.required) result.problems.push(`${where}: required header ${name} is missing`);
        continue;
      }
      const schema = header.schema as JsonSchema;
      const validate = validators.validator(schema);
      const typed = schema.type === 'integer' || schema.type === 'number' ? Number(value) : value;
      if (!validate(typed)) {
        result.problems.push(`${where}: header ${name}: ${value} ${validators.errors(validate)}`);
      }
    }
    for (const name of DOCUMENTED_WHEN_PRESENT) {
      if (exchange.headers[name] !== undefined && !headers[name]) {
        result.problems.push(`${where}: sends the header ${name}, which is not documented`);
      }
    }
  }
  return result;
}
