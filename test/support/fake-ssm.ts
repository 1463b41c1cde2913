/**
 * In-memory fake of AWS Systems Manager Parameter Store, speaking the real
 * JSON 1.1 wire protocol over HTTP so that the real `@aws-sdk/client-ssm`
 * client can be pointed at it with `endpoint: fake.url`.
 *
 * - No SigV4 validation (the Authorization header is only used to pick the
 *   region for ARNs).
 * - Never logs anything (and in particular never parameter values).
 * - Fault injection: see `failNext`, `failRandomly`, `latency`.
 * - Keeps `maxVersions` (100) versions per parameter: a put beyond that drops the oldest, or fails
 *   with `ParameterMaxVersionLimitExceeded` when the oldest carries a label (as SSM does).
 *   LabelParameterVersion / UnlabelParameterVersion move and remove labels (one version per label).
 *
 * Standalone: `tsx test/support/fake-ssm.ts [port]` (default 4566) prints one
 * JSON line `{"url": "..."}` to stdout and serves until SIGINT/SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export type Fault =
  /** 400 `ThrottlingException` ("Rate exceeded"). */
  | 'throttle'
  /** 500 `InternalServerError`. */
  | 'internal'
  /** Perform the operation (state changes, versions consumed), then answer 500: a lost response. */
  | 'writeThenFail'
  /** Destroy the socket without answering. */
  | 'reset'
  /** Wait this long, then perform the operation and answer normally (if the client is still there). */
  | { delayMs: number };

export interface FakeSsmVersion {
  version: number;
  value: string;
  keyId?: string;
  type: string;
  labels: string[];
}

export interface FakeSsmCall {
  /** Operation name without the `AmazonSSM.` prefix (or the raw target if it had none). */
  op: string;
  /** `Name` of single-parameter operations, as sent (may include a `:version` selector). */
  name?: string;
  /** `Names` of GetParameters / DeleteParameters. */
  names?: string[];
  /** `Path` of GetParametersByPath. */
  path?: string;
}

export interface FakeSsmOptions {
  /** Versions kept per parameter; the oldest is dropped beyond this (unless labelled). Default 100 (as SSM). */
  maxVersions?: number;
  /** Port to listen on (127.0.0.1). Default 0 = ephemeral. */
  port?: number;
}

export interface FakeSsm {
  /** e.g. `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Stops the server, destroys all sockets (incl. keep-alive) and abandons delayed requests. Idempotent. */
  close(): Promise<void>;
  /** Queue `fault` for the next `count` calls of `op` (e.g. `'PutParameter'`), or of any op with `'*'`. */
  failNext(op: string, fault: Fault, count?: number): void;
  /**
   * Every call of `op` (or any op with `'*'`) fails with probability `rate`, with a fault chosen
   * uniformly among `faults`. Deterministic when `seed` is given. `failRandomly(op, 0, [])` turns it off.
   */
  failRandomly(op: string, rate: number, faults: Fault[], seed?: number): void;
  /** Removes all queued (`failNext`) and random (`failRandomly`) faults. Does not touch `latency`. */
  clearFaults(): void;
  /** Log of received operations, oldest first (never contains values). Same array instance for the whole lifetime. */
  readonly calls: FakeSsmCall[];
  /** Clears data, faults, latency and calls; abandons requests that are still delayed. */
  reset(): void;
  /** Stored versions of `name`, oldest first (`[]` if unknown). `keyId` is exactly what the client sent. */
  versions(name: string): FakeSsmVersion[];
  has(name: string): boolean;
  /** Sorted parameter names. */
  names(): string[];
  /** Base latency applied to every call before anything else (default 0). */
  latency(ms: number): void;
}

// ---------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------

const ACCOUNT_ID = '123456789012';
const DEFAULT_REGION = 'us-east-1';
const DEFAULT_KMS_KEY = 'alias/aws/ssm';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const TYPES = new Set(['String', 'StringList', 'SecureString']);
const NAME_RE = /^[a-zA-Z0-9_.\-/]+$/;
const LABEL_RE = /^(?![0-9])(?!aws)(?!ssm)[a-zA-Z0-9_.-]{1,100}$/i;
const MAX_LABELS_PER_VERSION = 10;

interface StoredVersion {
  version: number;
  value: string;
  type: string;
  keyId?: string;
  description?: string;
  dataType: string;
  lastModifiedMs: number;
  labels: string[];
}

interface StoredParam {
  name: string;
  versions: StoredVersion[];
  nextVersion: number;
}

class SsmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (code: string, message: string) => new SsmError(400, code, message);
const validation = (message: string) => badRequest('ValidationException', message);

type Json = Record<string, unknown>;

interface OpContext {
  region: string;
}

interface RandomFaults {
  rate: number;
  faults: Fault[];
  rng: () => number;
}

/** mulberry32: tiny deterministic PRNG returning floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function str(input: Json, key: string, required: true): string;
function str(input: Json, key: string, required?: false): string | undefined;
function str(input: Json, key: string, required = false): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) {
    if (required)
      throw validation(
        `1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`,
      );
    return undefined;
  }
  if (typeof v !== 'string') throw badRequest('SerializationException', `${key} must be a string`);
  return v;
}

function bool(input: Json, key: string): boolean {
  const v = input[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw badRequest('SerializationException', `${key} must be a boolean`);
  return v;
}

function strList(input: Json, key: string, min: number, max: number): string[] {
  const v = input[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw validation(
      `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (v.length < min || v.length > max) {
    throw validation(
      `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must have length between ${min} and ${max}`,
    );
  }
  return v as string[];
}

function int(input: Json, key: string): number | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw badRequest('SerializationException', `${key} must be an integer`);
  return v;
}

function maxResults(input: Json, max: number, dflt: number): number {
  const v = input.MaxResults;
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw badRequest('SerializationException', 'MaxResults must be an integer');
  if (v < 1 || v > max) {
    throw validation(
      `1 validation error detected: Value '${v}' at 'maxResults' failed to satisfy constraint: Member must have value ${v < 1 ? 'greater than or equal to 1' : `less than or equal to ${max}`}`,
    );
  }
  return v;
}

function encodeToken(key: string): string {
  return Buffer.from(JSON.stringify({ after: key }), 'utf8').toString('base64');
}

function decodeToken(input: Json): string | undefined {
  const t = str(input, 'NextToken');
  if (t === undefined || t === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(t, 'base64').toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as Json).after === 'string')
      return (parsed as Json).after as string;
  } catch {
    // fall through
  }
  throw badRequest('InvalidNextToken', 'The specified token is invalid.');
}

/** Splits `name:selector` (selector must be an integer version; labels are not supported). */
function parseSelector(raw: string): { name: string; version?: number; selector?: string } {
  const idx = raw.lastIndexOf(':');
  if (idx < 0) return { name: raw };
  const name = raw.slice(0, idx);
  const sel = raw.slice(idx + 1);
  if (!/^[0-9]+$/.test(sel)) {
    throw validation(
      `fake-ssm: unsupported parameter selector ':${sel}' (only integer versions are supported)`,
    );
  }
  return { name, version: Number(sel), selector: `:${sel}` };
}

function regionFrom(req: IncomingMessage): string {
  const auth = req.headers.authorization;
  const m = typeof auth === 'string' ? /Credential=[^/]+\/\d{8}\/([^/]+)\/ssm\//.exec(auth) : null;
  return m?.[1] ?? DEFAULT_REGION;
}

function arn(ctx: OpContext, name: string): string {
  return `arn:aws:ssm:${ctx.region}:${ACCOUNT_ID}:parameter/${name.startsWith('/') ? name.slice(1) : name}`;
}

const epochSeconds = (ms: number) => ms / 1000;

function effectiveKeyId(v: StoredVersion): string | undefined {
  return v.type === 'SecureString' ? (v.keyId ?? DEFAULT_KMS_KEY) : undefined;
}

/** What SSM returns for a SecureString without WithDecryption: an opaque ciphertext (never the plaintext). */
function visibleValue(v: StoredVersion, name: string, withDecryption: boolean): string {
  if (v.type !== 'SecureString' || withDecryption) return v.value;
  return Buffer.from(`fake-ssm-ciphertext:${effectiveKeyId(v)}:${name}:${v.version}`, 'utf8').toString(
    'base64',
  );
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

export async function startFakeSsm(opts: FakeSsmOptions = {}): Promise<FakeSsm> {
  const maxVersions = opts.maxVersions ?? 100;
  if (!Number.isInteger(maxVersions) || maxVersions < 1)
    throw new Error('maxVersions must be a positive integer');

  const store = new Map<string, StoredParam>();
  const calls: FakeSsmCall[] = [];
  const queued = new Map<string, Fault[]>();
  const random = new Map<string, RandomFaults>();
  let baseLatencyMs = 0;
  let generation = 0;
  let closed = false;
  const pending = new Set<{ timer: NodeJS.Timeout; resolve: (ok: boolean) => void }>();

  /** Sleeps `ms`; resolves false if the fake was reset or closed meanwhile (the request must be abandoned). */
  const pause = (ms: number, gen: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve(!closed && gen === generation);
      const entry = {
        timer: setTimeout(() => {
          pending.delete(entry);
          resolve(!closed && gen === generation);
        }, ms),
        resolve,
      };
      pending.add(entry);
    });

  const abandonPending = () => {
    for (const p of pending) {
      clearTimeout(p.timer);
      p.resolve(false);
    }
    pending.clear();
  };

  const takeFault = (op: string): Fault | undefined => {
    for (const key of [op, '*']) {
      const q = queued.get(key);
      if (q && q.length > 0) {
        const f = q.shift();
        if (q.length === 0) queued.delete(key);
        return f;
      }
    }
    const r = random.get(op) ?? random.get('*');
    if (r && r.rng() < r.rate) {
      return r.faults[Math.min(r.faults.length - 1, Math.floor(r.rng() * r.faults.length))];
    }
    return undefined;
  };

  // ---- data helpers --------------------------------------------------------

  const lookup = (
    raw: string,
  ): { param: StoredParam; version: StoredVersion; selector: string | undefined } => {
    const { name, version, selector } = parseSelector(raw);
    const param = store.get(name);
    if (!param) throw badRequest('ParameterNotFound', `Parameter ${name} not found.`);
    if (version === undefined) {
      const latest = param.versions[param.versions.length - 1];
      if (!latest) throw badRequest('ParameterNotFound', `Parameter ${name} not found.`);
      return { param, version: latest, selector: undefined };
    }
    const found = param.versions.find((v) => v.version === version);
    if (!found) {
      throw badRequest(
        'ParameterVersionNotFound',
        `Systems Manager could not find version ${version} of ${name}. Verify the version and try again.`,
      );
    }
    return { param, version: found, selector };
  };

  const renderParameter = (
    ctx: OpContext,
    param: StoredParam,
    v: StoredVersion,
    withDecryption: boolean,
    selector?: string,
  ) => ({
    Name: param.name,
    Type: v.type,
    Value: visibleValue(v, param.name, withDecryption),
    Version: v.version,
    ...(selector ? { Selector: selector } : {}),
    LastModifiedDate: epochSeconds(v.lastModifiedMs),
    ARN: arn(ctx, param.name),
    DataType: v.dataType,
  });

  const latestOf = (p: StoredParam): StoredVersion => p.versions[p.versions.length - 1] as StoredVersion;

  const sortedParams = (): StoredParam[] =>
    [...store.values()]
      .filter((p) => p.versions.length > 0)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  /** Evaluates DescribeParameters / GetParametersByPath `ParameterFilters`. */
  const buildFilter = (input: Json, allowNameAndPath: boolean): ((p: StoredParam) => boolean) => {
    const raw = input.ParameterFilters;
    if (raw === undefined || raw === null) return () => true;
    if (!Array.isArray(raw)) throw badRequest('SerializationException', 'ParameterFilters must be a list');
    const preds: Array<(p: StoredParam) => boolean> = [];
    for (const f of raw as unknown[]) {
      if (!f || typeof f !== 'object')
        throw badRequest('SerializationException', 'ParameterFilters entries must be objects');
      const filter = f as Json;
      const key = str(filter, 'Key', true);
      const option = str(filter, 'Option') ?? (key === 'Path' ? 'OneLevel' : 'Equals');
      const values = filter.Values === undefined ? [] : strList(filter, 'Values', 0, 50);
      switch (key) {
        case 'Name': {
          if (!allowNameAndPath)
            throw badRequest('InvalidFilterKey', 'The following filter key is not valid: Name');
          if (!['Equals', 'BeginsWith', 'Contains'].includes(option)) {
            throw badRequest(
              'InvalidFilterOption',
              `The following filter option is not valid: ${option}. Valid options include: [BeginsWith, Equals, Contains].`,
            );
          }
          preds.push((p) =>
            values.some((v) => {
              // SSM treats a missing leading slash in BeginsWith/Equals on hierarchies leniently; keep it literal here.
              if (option === 'Equals') return p.name === v;
              if (option === 'BeginsWith') return p.name.startsWith(v);
              return p.name.includes(v);
            }),
          );
          break;
        }
        case 'Path': {
          if (!allowNameAndPath)
            throw badRequest('InvalidFilterKey', 'The following filter key is not valid: Path');
          if (!['OneLevel', 'Recursive'].includes(option)) {
            throw badRequest(
              'InvalidFilterOption',
              `The following filter option is not valid: ${option}. Valid options include: [Recursive, OneLevel].`,
            );
          }
          preds.push((p) => values.some((v) => underPath(p.name, v, option === 'Recursive')));
          break;
        }
        case 'Type':
        case 'KeyId':
        case 'DataType': {
          if (option !== 'Equals') {
            throw badRequest(
              'InvalidFilterOption',
              `The following filter option is not valid: ${option}. Valid options include: [Equals].`,
            );
          }
          preds.push((p) => {
            const v = latestOf(p);
            const actual = key === 'Type' ? v.type : key === 'KeyId' ? effectiveKeyId(v) : v.dataType;
            return actual !== undefined && values.includes(actual);
          });
          break;
        }
        default:
          throw badRequest('InvalidFilterKey', `fake-ssm: unsupported filter key ${key}`);
      }
    }
    return (p) => preds.every((pred) => pred(p));
  };

  const paginate = <T extends { name: string }>(items: T[], input: Json, max: number, dflt: number) => {
    const limit = maxResults(input, max, dflt);
    const after = decodeToken(input);
    const start = after === undefined ? 0 : items.findIndex((i) => i.name > after);
    const from = start < 0 ? items.length : start;
    const page = items.slice(from, from + limit);
    const last = page[page.length - 1];
    const nextToken = from + limit < items.length && last ? encodeToken(last.name) : undefined;
    return { page, nextToken };
  };

  // ---- operations ----------------------------------------------------------

  const ops: Record<string, (input: Json, ctx: OpContext) => Json> = {
    PutParameter(input) {
      const name = str(input, 'Name', true);
      const value = str(input, 'Value', true);
      if (!NAME_RE.test(name) || name.length > 2048)
        throw validation(
          'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.',
        );
      if (name.includes('/') && !name.startsWith('/'))
        throw validation('Parameter name must be a fully qualified name.');
      if (value.length === 0)
        throw validation(
          "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
      const existing = store.get(name);
      const overwrite = bool(input, 'Overwrite');
      if (existing && existing.versions.length > 0 && !overwrite) {
        throw badRequest(
          'ParameterAlreadyExists',
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
        );
      }
      const type = str(input, 'Type') ?? (existing ? latestOf(existing).type : 'String');
      if (!TYPES.has(type))
        throw validation(
          `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`,
        );
      const keyId = str(input, 'KeyId');
      const description = str(input, 'Description');
      if (keyId !== undefined && type !== 'SecureString')
        throw validation('KeyId is required for SecureString type parameter only.');
      const param = existing ?? { name, versions: [], nextVersion: 1 };
      const oldest = param.versions[0];
      if (param.versions.length >= maxVersions && oldest && oldest.labels.length > 0) {
        throw badRequest(
          'ParameterMaxVersionLimitExceeded',
          `You attempted to create a new version of ${name} by calling the PutParameter API with the overwrite flag. Version ${oldest.version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.`,
        );
      }
      const version: StoredVersion = {
        version: param.nextVersion++,
        value,
        type,
        ...(keyId !== undefined ? { keyId } : {}),
        ...(description !== undefined ? { description } : {}),
        dataType: str(input, 'DataType') ?? 'text',
        lastModifiedMs: Date.now(),
        labels: [],
      };
      param.versions.push(version);
      while (param.versions.length > maxVersions) param.versions.shift();
      store.set(name, param);
      return { Version: version.version, Tier: 'Standard' };
    },

    LabelParameterVersion(input) {
      const name = str(input, 'Name', true);
      const labels = strList(input, 'Labels', 1, 10);
      const requested = int(input, 'ParameterVersion');
      const { param, version: target } = lookup(requested === undefined ? name : `${name}:${requested}`);
      const valid = labels.filter((l) => LABEL_RE.test(l));
      const added = valid.filter((l) => !target.labels.includes(l));
      if (target.labels.length + added.length > MAX_LABELS_PER_VERSION) {
        throw badRequest(
          'ParameterVersionLabelLimitExceeded',
          'A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.',
        );
      }
      for (const v of param.versions) {
        if (v !== target) v.labels = v.labels.filter((l) => !added.includes(l));
      }
      target.labels.push(...added);
      return { InvalidLabels: labels.filter((l) => !valid.includes(l)), ParameterVersion: target.version };
    },

    UnlabelParameterVersion(input) {
      const name = str(input, 'Name', true);
      const labels = strList(input, 'Labels', 1, 10);
      const requested = int(input, 'ParameterVersion');
      if (requested === undefined)
        throw validation(
          "1 validation error detected: Value null at 'parameterVersion' failed to satisfy constraint: Member must not be null",
        );
      const { version: target } = lookup(`${name}:${requested}`);
      const removed = labels.filter((l) => target.labels.includes(l));
      target.labels = target.labels.filter((l) => !removed.includes(l));
      return { RemovedLabels: removed, InvalidLabels: labels.filter((l) => !removed.includes(l)) };
    },

    GetParameter(input, ctx) {
      const raw = str(input, 'Name', true);
      const { param, version, selector } = lookup(raw);
      return { Parameter: renderParameter(ctx, param, version, bool(input, 'WithDecryption'), selector) };
    },

    GetParameters(input, ctx) {
      const names = strList(input, 'Names', 1, 10);
      const withDecryption = bool(input, 'WithDecryption');
      const Parameters: Json[] = [];
      const InvalidParameters: string[] = [];
      for (const raw of names) {
        try {
          const { param, version, selector } = lookup(raw);
          Parameters.push(renderParameter(ctx, param, version, withDecryption, selector));
        } catch (e) {
          if (
            e instanceof SsmError &&
            (e.code === 'ParameterNotFound' || e.code === 'ParameterVersionNotFound')
          ) {
            InvalidParameters.push(raw);
          } else {
            throw e;
          }
        }
      }
      return { Parameters, InvalidParameters };
    },

    DeleteParameter(input) {
      const name = str(input, 'Name', true);
      if (!store.has(name)) throw badRequest('ParameterNotFound', `Parameter ${name} not found.`);
      store.delete(name);
      return {};
    },

    DeleteParameters(input) {
      const names = strList(input, 'Names', 1, 10);
      const DeletedParameters: string[] = [];
      const InvalidParameters: string[] = [];
      for (const name of names) {
        if (store.delete(name)) DeletedParameters.push(name);
        else InvalidParameters.push(name);
      }
      return { DeletedParameters, InvalidParameters };
    },

    GetParametersByPath(input, ctx) {
      const rawPath = str(input, 'Path', true);
      if (!rawPath.startsWith('/'))
        throw validation(
          'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".',
        );
      const recursive = bool(input, 'Recursive');
      const withDecryption = bool(input, 'WithDecryption');
      const filter = buildFilter(input, false);
      const items = sortedParams().filter((p) => underPath(p.name, rawPath, recursive) && filter(p));
      const { page, nextToken } = paginate(items, input, 10, 10);
      return {
        Parameters: page.map((p) => renderParameter(ctx, p, latestOf(p), withDecryption)),
        ...(nextToken ? { NextToken: nextToken } : {}),
      };
    },

    DescribeParameters(input, ctx) {
      if (input.Filters !== undefined && input.Filters !== null) {
        throw validation('fake-ssm: legacy Filters are not supported; use ParameterFilters');
      }
      const filter = buildFilter(input, true);
      const items = sortedParams().filter(filter);
      const { page, nextToken } = paginate(items, input, 50, 10);
      return {
        Parameters: page.map((p) => {
          const v = latestOf(p);
          const keyId = effectiveKeyId(v);
          return {
            Name: p.name,
            ARN: arn(ctx, p.name),
            Type: v.type,
            ...(keyId !== undefined ? { KeyId: keyId } : {}),
            LastModifiedDate: epochSeconds(v.lastModifiedMs),
            LastModifiedUser: `arn:aws:iam::${ACCOUNT_ID}:user/fake-ssm`,
            ...(v.description !== undefined ? { Description: v.description } : {}),
            Version: v.version,
            Tier: 'Standard',
            Policies: [],
            DataType: v.dataType,
          };
        }),
        ...(nextToken ? { NextToken: nextToken } : {}),
      };
    },

    GetParameterHistory(input) {
      const name = str(input, 'Name', true);
      const param = store.get(name);
      if (!param) throw badRequest('ParameterNotFound', `Parameter ${name} not found.`);
      const withDecryption = bool(input, 'WithDecryption');
      // Token keys are zero-padded version numbers so the generic name-ordered paginator works.
      const items = param.versions.map((v) => ({ name: String(v.version).padStart(12, '0'), v }));
      const { page, nextToken } = paginate(items, input, 50, 50);
      return {
        Parameters: page.map(({ v }) => {
          const keyId = effectiveKeyId(v);
          return {
            Name: name,
            Type: v.type,
            ...(keyId !== undefined ? { KeyId: keyId } : {}),
            LastModifiedDate: epochSeconds(v.lastModifiedMs),
            LastModifiedUser: `arn:aws:iam::${ACCOUNT_ID}:user/fake-ssm`,
            ...(v.description !== undefined ? { Description: v.description } : {}),
            Value: visibleValue(v, name, withDecryption),
            Version: v.version,
            Labels: [...v.labels],
            Tier: 'Standard',
            Policies: [],
            DataType: v.dataType,
          };
        }),
        ...(nextToken ? { NextToken: nextToken } : {}),
      };
    },
  };

  // ---- HTTP plumbing -------------------------------------------------------

  const send = (res: ServerResponse, status: number, body: Json) => {
    if (res.destroyed || res.writableEnded || res.socket?.destroyed) return;
    const payload = JSON.stringify(body);
    try {
      res.writeHead(status, {
        'content-type': CONTENT_TYPE,
        'content-length': Buffer.byteLength(payload),
        'x-amzn-requestid': randomUUID(),
      });
      res.end(payload);
    } catch {
      // client went away; nothing to do
    }
  };

  const sendError = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { __type: code, message });

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
      req.on('aborted', () => reject(new Error('aborted')));
    });

  const describeCall = (op: string, input: Json | undefined): FakeSsmCall => {
    const call: FakeSsmCall = { op };
    if (!input) return call;
    if (typeof input.Name === 'string') call.name = input.Name;
    if (Array.isArray(input.Names))
      call.names = input.Names.filter((n): n is string => typeof n === 'string');
    if (typeof input.Path === 'string') call.path = input.Path;
    return call;
  };

  const execute = (op: string, input: Json | undefined, ctx: OpContext): { status: number; body: Json } => {
    const impl = Object.hasOwn(ops, op) ? ops[op] : undefined;
    try {
      if (!impl) throw badRequest('InvalidAction', `fake-ssm: operation ${op || '(none)'} is not supported`);
      if (!input) throw badRequest('SerializationException', 'Request body is not a JSON object');
      return { status: 200, body: impl(input, ctx) };
    } catch (e) {
      if (e instanceof SsmError) return { status: e.status, body: { __type: e.code, message: e.message } };
      return {
        status: 500,
        body: { __type: 'InternalServerError', message: 'fake-ssm: unexpected internal error' },
      };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const gen = generation;
    req.on('error', () => {});
    res.on('error', () => {});
    const targetHeader = req.headers['x-amz-target'];
    const target = typeof targetHeader === 'string' ? targetHeader : '';
    const op = target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : target;

    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    let input: Json | undefined;
    try {
      const parsed: unknown = raw.trim() === '' ? {} : JSON.parse(raw);
      input = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : undefined;
    } catch {
      input = undefined;
    }
    calls.push(describeCall(op, input));

    if (req.method !== 'POST')
      return sendError(res, 400, 'InvalidAction', 'fake-ssm: only POST / is supported');

    const ctx: OpContext = { region: regionFrom(req) };
    const abandon = () => req.socket.destroy();

    if (baseLatencyMs > 0 && !(await pause(baseLatencyMs, gen))) return abandon();

    const fault = takeFault(op);
    if (fault === 'reset') return abandon();
    if (fault === 'throttle') return sendError(res, 400, 'ThrottlingException', 'Rate exceeded');
    if (fault === 'internal')
      return sendError(res, 500, 'InternalServerError', 'fake-ssm: injected internal error');
    if (fault === 'writeThenFail') {
      execute(op, input, ctx);
      return sendError(res, 500, 'InternalServerError', 'fake-ssm: injected failure after write');
    }
    if (typeof fault === 'object' && !(await pause(fault.delayMs, gen))) return abandon();

    // The operation is applied even if the client has given up meanwhile (as a real server would).
    const result = execute(op, input, ctx);
    send(res, result.status, result.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      try {
        req.socket.destroy();
      } catch {
        // ignore
      }
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  const { port } = server.address() as AddressInfo;

  const validateFault = (fault: Fault) => {
    if (typeof fault === 'object') {
      if (!fault || typeof fault.delayMs !== 'number' || !(fault.delayMs >= 0))
        throw new Error('fake-ssm: delay fault needs delayMs >= 0');
    } else if (!['throttle', 'internal', 'writeThenFail', 'reset'].includes(fault)) {
      throw new Error(`fake-ssm: unknown fault ${String(fault)}`);
    }
  };

  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,

    close() {
      if (!closing) {
        closed = true;
        abandonPending();
        closing = new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      return closing;
    },

    failNext(op, fault, count = 1) {
      validateFault(fault);
      const q = queued.get(op) ?? [];
      for (let i = 0; i < count; i++) q.push(fault);
      if (q.length > 0) queued.set(op, q);
    },

    failRandomly(op, rate, faults, seed) {
      if (!(rate > 0) || faults.length === 0) {
        random.delete(op);
        return;
      }
      if (rate > 1) throw new Error('fake-ssm: rate must be within [0, 1]');
      for (const f of faults) validateFault(f);
      random.set(op, { rate, faults: [...faults], rng: seed === undefined ? Math.random : mulberry32(seed) });
    },

    clearFaults() {
      queued.clear();
      random.clear();
    },

    reset() {
      generation++;
      abandonPending();
      store.clear();
      queued.clear();
      random.clear();
      calls.length = 0;
      baseLatencyMs = 0;
    },

    versions(name) {
      return (store.get(name)?.versions ?? []).map((v) => ({
        version: v.version,
        value: v.value,
        type: v.type,
        ...(v.keyId !== undefined ? { keyId: v.keyId } : {}),
        labels: [...v.labels],
      }));
    },

    has(name) {
      return (store.get(name)?.versions.length ?? 0) > 0;
    },

    names() {
      return sortedParams().map((p) => p.name);
    },

    latency(ms) {
      if (!(ms >= 0)) throw new Error('fake-ssm: latency must be >= 0');
      baseLatencyMs = ms;
    },
  };
}

/** `path` "/a" contains "/a/b" (and with `recursive` "/a/b/c"), never "/a" itself or "/ab". */
function underPath(name: string, path: string, recursive: boolean): boolean {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  if (!name.startsWith(prefix) || name.length === prefix.length) return false;
  return recursive || !name.slice(prefix.length).includes('/');
}

// ---------------------------------------------------------------------------
// Standalone mode
// ---------------------------------------------------------------------------

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const portArg = process.argv[2];
  const port = portArg === undefined ? 4566 : Number(portArg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: tsx test/support/fake-ssm.ts [port]\n');
    process.exit(2);
  }
  const fake = await startFakeSsm({ port });
  process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
  const stop = () => {
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
