process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
  type SSMClientConfig,
  UnlabelParameterVersionCommand,
} from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSsm, type Fault, startFakeSsm } from './fake-ssm.js';

let fake: FakeSsm;
let ssm: SSMClient;

const clientFor = (url: string, extra: Partial<SSMClientConfig> = {}) =>
  new SSMClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    ...extra,
  });

/** Resolves to the thrown error (fails the test if the promise resolves). */
async function failure(
  p: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number }; code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
  }
  throw new Error('expected the call to fail');
}

const put = (
  Name: string,
  Value: string,
  extra: { Overwrite?: boolean; Type?: 'String' | 'SecureString'; KeyId?: string } = {},
) => ssm.send(new PutParameterCommand({ Name, Value, Type: 'SecureString', ...extra }));
const get = (Name: string) => ssm.send(new GetParameterCommand({ Name, WithDecryption: true }));

beforeAll(async () => {
  fake = await startFakeSsm({ maxVersions: 3 });
  ssm = clientFor(fake.url);
});

afterAll(async () => {
  ssm.destroy();
  await fake.close();
});

beforeEach(() => fake.reset());

describe('fake SSM: data operations through the real SDK', () => {
  it('puts versions, reads them back by selector, honours Overwrite', async () => {
    expect(await put('/app/db', 'v1', { KeyId: 'alias/k1' })).toMatchObject({ Version: 1, Tier: 'Standard' });

    const dup = await failure(put('/app/db', 'nope'));
    expect(dup.name).toBe('ParameterAlreadyExists');
    expect(dup.$metadata?.httpStatusCode).toBe(400);

    expect((await put('/app/db', 'v2', { Overwrite: true, KeyId: 'alias/k2' })).Version).toBe(2);

    const latest = (await get('/app/db')).Parameter;
    expect(latest).toMatchObject({
      Name: '/app/db',
      Value: 'v2',
      Version: 2,
      Type: 'SecureString',
      DataType: 'text',
    });
    expect(latest?.ARN).toBe('arn:aws:ssm:us-east-1:123456789012:parameter/app/db');
    expect(latest?.LastModifiedDate).toBeInstanceOf(Date);
    expect(Math.abs((latest?.LastModifiedDate?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);

    expect((await get('/app/db:1')).Parameter).toMatchObject({ Name: '/app/db', Value: 'v1', Version: 1 });
    expect((await failure(get('/app/db:7'))).name).toBe('ParameterVersionNotFound');
    expect((await failure(get('/app/missing'))).name).toBe('ParameterNotFound');

    // SecureString without decryption never exposes the plaintext.
    const enc = await ssm.send(new GetParameterCommand({ Name: '/app/db' }));
    expect(enc.Parameter?.Value).not.toBe('v2');

    const multi = await ssm.send(
      new GetParametersCommand({
        Names: ['/app/db:1', '/app/db', '/app/db:9', '/nope'],
        WithDecryption: true,
      }),
    );
    expect(multi.Parameters?.map((p) => [p.Value, p.Version])).toEqual([
      ['v1', 1],
      ['v2', 2],
    ]);
    expect(multi.InvalidParameters).toEqual(['/app/db:9', '/nope']);

    expect(fake.versions('/app/db')).toEqual([
      { version: 1, value: 'v1', type: 'SecureString', keyId: 'alias/k1', labels: [] },
      { version: 2, value: 'v2', type: 'SecureString', keyId: 'alias/k2', labels: [] },
    ]);
    expect(fake.calls.map((c) => c.op)).toEqual([
      'PutParameter',
      'PutParameter',
      'PutParameter',
      'GetParameter',
      'GetParameter',
      'GetParameter',
      'GetParameter',
      'GetParameter',
      'GetParameters',
    ]);
    expect(fake.calls[0]).toEqual({ op: 'PutParameter', name: '/app/db' });
    expect(JSON.stringify(fake.calls)).not.toContain('v1');
  });

  it('evicts the oldest version beyond maxVersions but keeps numbering', async () => {
    for (let i = 1; i <= 5; i++) await put('/evict', `value-${i}`, { Overwrite: true });
    expect(fake.versions('/evict').map((v) => v.version)).toEqual([3, 4, 5]);
    expect((await failure(get('/evict:2'))).name).toBe('ParameterVersionNotFound');
    expect((await get('/evict:3')).Parameter?.Value).toBe('value-3');

    const history = await ssm.send(
      new GetParameterHistoryCommand({ Name: '/evict', WithDecryption: true, MaxResults: 2 }),
    );
    expect(history.Parameters?.map((p) => p.Version)).toEqual([3, 4]);
    expect(history.Parameters?.[0]?.KeyId).toBe('alias/aws/ssm');
    const rest = await ssm.send(
      new GetParameterHistoryCommand({ Name: '/evict', WithDecryption: true, NextToken: history.NextToken }),
    );
    expect(rest.Parameters?.map((p) => p.Value)).toEqual(['value-5']);
    expect(rest.NextToken).toBeUndefined();
  });

  it('labels: one version per label, moved on relabel, shown in history, removed by Unlabel', async () => {
    for (let i = 1; i <= 3; i++) await put('/lab', `value-${i}`, { Overwrite: true });
    const label = (ParameterVersion: number | undefined, Labels: string[]) =>
      ssm.send(new LabelParameterVersionCommand({ Name: '/lab', ParameterVersion, Labels }));

    expect(await label(1, ['current', '1bad', 'awsx', 'ok_too'])).toMatchObject({
      ParameterVersion: 1,
      InvalidLabels: ['1bad', 'awsx'],
    });
    expect(fake.versions('/lab').map((v) => v.labels)).toEqual([['current', 'ok_too'], [], []]);
    // Applying a label to another version moves it; without a version, the latest is labelled.
    expect((await label(2, ['current'])).ParameterVersion).toBe(2);
    expect((await label(undefined, ['ok_too'])).ParameterVersion).toBe(3);
    expect(fake.versions('/lab').map((v) => v.labels)).toEqual([[], ['current'], ['ok_too']]);
    const history = await ssm.send(new GetParameterHistoryCommand({ Name: '/lab' }));
    expect(history.Parameters?.map((p) => p.Labels)).toEqual([[], ['current'], ['ok_too']]);

    expect((await failure(label(9, ['current']))).name).toBe('ParameterVersionNotFound');
    expect(
      (await failure(ssm.send(new LabelParameterVersionCommand({ Name: '/none', Labels: ['x'] })))).name,
    ).toBe('ParameterNotFound');
    const many = Array.from({ length: 10 }, (_, i) => `l${i}`);
    await label(1, many);
    expect((await failure(label(1, ['eleventh']))).name).toBe('ParameterVersionLabelLimitExceeded');

    const unlabel = await ssm.send(
      new UnlabelParameterVersionCommand({ Name: '/lab', ParameterVersion: 2, Labels: ['current', 'nope'] }),
    );
    expect(unlabel).toMatchObject({ RemovedLabels: ['current'], InvalidLabels: ['nope'] });
    expect(fake.versions('/lab')[1]?.labels).toEqual([]);
    expect(fake.calls.filter((c) => c.op.endsWith('LabelParameterVersion')).length).toBeGreaterThan(0);
  });

  it('a labelled oldest version is never evicted: the put fails with ParameterMaxVersionLimitExceeded', async () => {
    for (let i = 1; i <= 3; i++) await put('/keep', `value-${i}`, { Overwrite: true });
    await ssm.send(
      new LabelParameterVersionCommand({ Name: '/keep', ParameterVersion: 1, Labels: ['current'] }),
    );

    const error = await failure(put('/keep', 'value-4', { Overwrite: true }));
    expect(error.name).toBe('ParameterMaxVersionLimitExceeded');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toContain('Version 1, the oldest version');
    expect(fake.versions('/keep').map((v) => v.version)).toEqual([1, 2, 3]);
    expect((await get('/keep:1')).Parameter?.Value).toBe('value-1');

    // Once the label moves off the oldest version, eviction resumes, and numbering never reused a number.
    await ssm.send(
      new LabelParameterVersionCommand({ Name: '/keep', ParameterVersion: 3, Labels: ['current'] }),
    );
    expect((await put('/keep', 'value-4', { Overwrite: true })).Version).toBe(4);
    expect((await put('/keep', 'value-5', { Overwrite: true })).Version).toBe(5);
    expect(fake.versions('/keep').map((v) => [v.version, v.labels])).toEqual([
      [3, ['current']],
      [4, []],
      [5, []],
    ]);
    // A labelled version that is not the oldest does not block eviction of older ones.
    expect((await failure(put('/keep', 'value-6', { Overwrite: true }))).name).toBe(
      'ParameterMaxVersionLimitExceeded',
    );
  });

  it('deletes single and multiple parameters', async () => {
    await put('/d/a', 'a');
    await put('/d/b', 'b');
    await put('/d/c', 'c');
    expect(await ssm.send(new DeleteParameterCommand({ Name: '/d/a' }))).toBeDefined();
    expect((await failure(get('/d/a'))).name).toBe('ParameterNotFound');
    expect((await failure(ssm.send(new DeleteParameterCommand({ Name: '/d/a' })))).name).toBe(
      'ParameterNotFound',
    );

    const res = await ssm.send(new DeleteParametersCommand({ Names: ['/d/b', '/d/zzz', '/d/c'] }));
    expect(res.DeletedParameters).toEqual(['/d/b', '/d/c']);
    expect(res.InvalidParameters).toEqual(['/d/zzz']);
    expect(fake.names()).toEqual([]);

    // A recreated parameter starts again at version 1.
    expect((await put('/d/a', 'again')).Version).toBe(1);
  });

  it('pages GetParametersByPath and honours Recursive', async () => {
    for (let i = 0; i < 7; i++) await put(`/p/k${i}`, `x${i}`, { Type: 'String' });
    await put('/p/deep/k', 'deep', { Type: 'String' });
    await put('/px/other', 'other', { Type: 'String' });

    const seen: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await ssm.send(
        new GetParametersByPathCommand({ Path: '/p', Recursive: true, MaxResults: 3, NextToken }),
      );
      seen.push(...(page.Parameters ?? []).map((p) => p.Name ?? ''));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    expect(pages).toBe(3);
    expect(seen).toEqual(['/p/deep/k', '/p/k0', '/p/k1', '/p/k2', '/p/k3', '/p/k4', '/p/k5', '/p/k6']);

    const oneLevel = await ssm.send(new GetParametersByPathCommand({ Path: '/p/' }));
    expect(oneLevel.Parameters?.map((p) => p.Name)).not.toContain('/p/deep/k');
    expect(oneLevel.Parameters).toHaveLength(7);

    // Real SSM caps MaxResults at 10 for this operation.
    expect(
      (await failure(ssm.send(new GetParametersByPathCommand({ Path: '/p', MaxResults: 11 })))).name,
    ).toBe('ValidationException');
  });

  it('filters DescribeParameters with Name BeginsWith and paginates', async () => {
    await put('/team-a/one', '1', { KeyId: 'alias/team-a' });
    await put('/team-a/two', '2');
    await put('/team-b/one', '3', { Type: 'String' });

    const first = await ssm.send(
      new DescribeParametersCommand({
        MaxResults: 1,
        ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: ['/team-a/'] }],
      }),
    );
    expect(first.Parameters).toHaveLength(1);
    expect(first.Parameters?.[0]).toMatchObject({
      Name: '/team-a/one',
      Type: 'SecureString',
      Version: 1,
      KeyId: 'alias/team-a',
    });
    expect(first.Parameters?.[0]?.LastModifiedDate).toBeInstanceOf(Date);
    const second = await ssm.send(
      new DescribeParametersCommand({
        MaxResults: 1,
        NextToken: first.NextToken,
        ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: ['/team-a/'] }],
      }),
    );
    expect(second.Parameters?.map((p) => p.Name)).toEqual(['/team-a/two']);
    expect(second.NextToken).toBeUndefined();

    const all = await ssm.send(new DescribeParametersCommand({}));
    expect(all.Parameters?.map((p) => p.Name)).toEqual(['/team-a/one', '/team-a/two', '/team-b/one']);
    expect(all.Parameters?.[2]?.KeyId).toBeUndefined();
  });
});

describe('fake SSM: fault injection', () => {
  it('throttle → ThrottlingException, only for the queued count', async () => {
    fake.failNext('GetParameter', 'throttle', 2);
    await put('/t', 'x');
    for (let i = 0; i < 2; i++) {
      const err = await failure(get('/t'));
      expect(err.name).toBe('ThrottlingException');
      expect(err.message).toBe('Rate exceeded');
    }
    expect((await get('/t')).Parameter?.Value).toBe('x');
  });

  it('internal → 500 InternalServerError', async () => {
    fake.failNext('*', 'internal');
    const err = await failure(put('/i', 'x'));
    expect(err.$metadata?.httpStatusCode).toBe(500);
    expect(err.name).toBe('InternalServerError');
    expect(fake.has('/i')).toBe(false);
  });

  it('writeThenFail stores the version although the call failed', async () => {
    await put('/w', 'v1');
    fake.failNext('PutParameter', 'writeThenFail');
    const err = await failure(put('/w', 'v2', { Overwrite: true }));
    expect(err.$metadata?.httpStatusCode).toBe(500);
    expect(fake.versions('/w').map((v) => [v.version, v.value])).toEqual([
      [1, 'v1'],
      [2, 'v2'],
    ]);
    expect((await put('/w', 'v3', { Overwrite: true })).Version).toBe(3);
  });

  it('with SDK retries, a lost PutParameter response turns into ParameterAlreadyExists', async () => {
    const retrying = clientFor(fake.url, { maxAttempts: 2 });
    try {
      fake.failNext('PutParameter', 'writeThenFail');
      const err = await failure(
        retrying.send(new PutParameterCommand({ Name: '/lost', Value: 'x', Type: 'String' })),
      );
      expect(err.name).toBe('ParameterAlreadyExists');
      expect(fake.versions('/lost')).toHaveLength(1);
      expect(fake.calls.filter((c) => c.op === 'PutParameter')).toHaveLength(2);
    } finally {
      retrying.destroy();
    }
  });

  it('reset → network error', async () => {
    fake.failNext('GetParameter', 'reset');
    await put('/r', 'x');
    const err = await failure(get('/r'));
    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    expect(err.code).toBe('ECONNRESET');
    // The SDK's node handler renames ECONNRESET errors to TimeoutError (which makes them retryable).
    expect(err.name).toBe('TimeoutError');
    expect((await get('/r')).Parameter?.Value).toBe('x');
  });

  it('delay → client request timeout; the server survives and still applies the write', async () => {
    const impatient = clientFor(fake.url, {
      requestHandler: new NodeHttpHandler({ requestTimeout: 100, throwOnRequestTimeout: true }),
    });
    try {
      fake.failNext('PutParameter', { delayMs: 300 });
      const started = Date.now();
      const err = await failure(
        impatient.send(new PutParameterCommand({ Name: '/slow', Value: 'x', Type: 'String' })),
      );
      expect(err.name).toBe('TimeoutError');
      expect(Date.now() - started).toBeLessThan(290);
      expect(fake.has('/slow')).toBe(false);
      await new Promise((r) => setTimeout(r, 350));
      expect(fake.has('/slow')).toBe(true);
      expect((await ssm.send(new GetParameterCommand({ Name: '/slow' }))).Parameter?.Value).toBe('x');
    } finally {
      impatient.destroy();
    }
  });

  it('latency applies to every call', async () => {
    fake.latency(60);
    const started = Date.now();
    await put('/lat', 'x');
    await get('/lat');
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
  });

  it('failRandomly with a seed is deterministic and can be turned off', async () => {
    const faults: Fault[] = ['throttle', 'internal'];
    const run = async () => {
      fake.reset();
      await put('/rnd', 'x');
      fake.failRandomly('GetParameter', 0.5, faults, 42);
      const outcomes: string[] = [];
      for (let i = 0; i < 16; i++) {
        try {
          await get('/rnd');
          outcomes.push('ok');
        } catch (e) {
          outcomes.push((e as Error).name);
        }
      }
      return outcomes;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(a).toContain('ok');
    expect(a.some((o) => o !== 'ok')).toBe(true);
    expect(new Set(a.filter((o) => o !== 'ok'))).toEqual(
      new Set(['ThrottlingException', 'InternalServerError']),
    );

    fake.failRandomly('GetParameter', 0, []);
    for (let i = 0; i < 5; i++) expect((await get('/rnd')).Parameter?.Value).toBe('x');
  });

  it('unknown operations → InvalidAction; close() is prompt with keep-alive sockets', async () => {
    const other = await startFakeSsm();
    const res = await fetch(other.url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AmazonSSM.CreateActivation',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await res.json()).toMatchObject({ __type: 'InvalidAction' });

    const client = clientFor(other.url);
    await client.send(new PutParameterCommand({ Name: 'k', Value: 'v', Type: 'String' }));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(500);
    client.destroy();
  });
});
