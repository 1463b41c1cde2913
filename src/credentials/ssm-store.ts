import {
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  LabelParameterVersionCommand,
  ParameterMaxVersionLimitExceeded,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Tx } from '../db/transaction.js';
import { ConflictError, UnavailableError, ValidationError } from '../domain/errors.js';
import { CredentialNotFoundError, type CredentialStore, type CredentialValue } from './credential-store.js';

export interface SsmStoreOptions {
  region?: string;
  endpoint?: string;
  kmsKeyId?: string;
  prefix: string;
  timeoutMs: number;
}

/** The label that keeps the version a row points at from being evicted. */
const CURRENT_LABEL = 'current';
/** The label moves on every this many versions (see `put`). */
const LABEL_EVERY = 10;

/**
 * AWS SSM Parameter Store: one SecureString parameter per reference, read back by explicit
 * version (`name:version`). The SDK's standard retry policy handles throttling and 5xx; a store
 * that keeps failing becomes a 503 with no change made.
 *
 * SSM keeps 100 versions per parameter: a put beyond that deletes the oldest version, unless the
 * oldest carries a label, in which case the put fails with ParameterMaxVersionLimitExceeded and
 * nothing is deleted. So one label (`current`, which SSM moves when it is applied to another
 * version) on any version at or before the one the row points at keeps that version safe.
 */
export class SsmCredentialStore implements CredentialStore {
  readonly kind = 'ssm';
  private readonly client: SSMClient;
  /** Labels still being applied (they run after the response; see `put`). */
  private readonly labelling = new Set<Promise<void>>();

  constructor(private readonly options: SsmStoreOptions) {
    this.client = new SSMClient({
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint,
      maxAttempts: 3,
      retryMode: 'standard',
      // The middleware chain is built once per command type instead of on every call.
      cacheMiddleware: true,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: options.timeoutMs,
        requestTimeout: options.timeoutMs,
        throwOnRequestTimeout: true,
      }),
    });
  }

  private name(ref: string): string {
    return `${this.options.prefix}/${ref}`;
  }

  /**
   * SSM evicts only the oldest version, and not at all while the oldest carries a label: a label on
   * any committed version at or before the one the row points at protects it. So the label moves
   * only to committed versions (after the commit: were it moved right after the put, a failed commit
   * would leave the row on a version without protection), and only to the first and every tenth one,
   * which spares a second SSM call on nine rotations in ten. If labelling fails (or the process dies
   * in between), the label stays on an older committed version, still protecting the current one;
   * a later committed version moves it on. SSM refuses a put only once 100 versions follow the
   * labelled one: after dozens of puts without a commit on a tenth version (a clean 409).
   * The label call runs after the response, not before it (`settled` waits for it).
   */
  async put(ref: string, value: CredentialValue, tx: Tx): Promise<number> {
    const result = await this.call(() =>
      this.client.send(
        new PutParameterCommand({
          Name: this.name(ref),
          Value: JSON.stringify(value),
          Type: 'SecureString',
          Overwrite: true,
          Tier: 'Intelligent-Tiering',
          KeyId: this.options.kmsKeyId,
        }),
      ),
    );
    if (typeof result.Version !== 'number')
      throw new UnavailableError('The credential store gave no version');
    const version = result.Version;
    if (version === 1 || version % LABEL_EVERY === 0) {
      tx.afterCommit(async () => {
        const labelled = this.label(ref, version).finally(() => this.labelling.delete(labelled));
        this.labelling.add(labelled);
      });
    }
    return version;
  }

  async settled(): Promise<void> {
    await Promise.all(this.labelling);
  }

  /** Best effort, and never throws: it runs after the commit, when the change has already happened. */
  private async label(ref: string, version: number): Promise<void> {
    try {
      await this.client.send(
        new LabelParameterVersionCommand({
          Name: this.name(ref),
          ParameterVersion: version,
          Labels: [CURRENT_LABEL],
        }),
      );
    } catch {
      // The label stays on an older committed version (see `put`).
    }
  }

  async get(ref: string, version: number): Promise<CredentialValue> {
    try {
      const result = await this.call(() =>
        this.client.send(
          new GetParameterCommand({ Name: `${this.name(ref)}:${version}`, WithDecryption: true }),
        ),
      );
      return JSON.parse(result.Parameter?.Value ?? '{}') as CredentialValue;
    } catch (error) {
      if (error instanceof ParameterNotFound || error instanceof ParameterVersionNotFound) {
        throw new CredentialNotFoundError(ref, version);
      }
      throw error;
    }
  }

  async delete(ref: string): Promise<void> {
    try {
      await this.call(() => this.client.send(new DeleteParameterCommand({ Name: this.name(ref) })));
    } catch (error) {
      if (!(error instanceof ParameterNotFound)) throw error;
    }
  }

  async listRefs(): Promise<string[]> {
    const refs: string[] = [];
    const prefix = `${this.options.prefix}/`;
    let nextToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new DescribeParametersCommand({
            MaxResults: 50,
            NextToken: nextToken,
            ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: [`${prefix}teams/`] }],
          }),
        ),
      );
      for (const parameter of page.Parameters ?? []) {
        if (parameter.Name?.startsWith(prefix)) refs.push(parameter.Name.slice(prefix.length));
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return refs;
  }

  async ping(): Promise<void> {
    await this.call(() => this.client.send(new DescribeParametersCommand({ MaxResults: 1 })));
  }

  /** Maps the SDK's failures to domain errors whose messages carry no request data. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ParameterNotFound || error instanceof ParameterVersionNotFound) throw error;
      if (error instanceof ParameterMaxVersionLimitExceeded) {
        // The oldest kept version is labelled: someone else's label, or ours, which is on the
        // current version or an older one, so ~99 versions were put since without a commit moving
        // it (failed commits, or that many rotations of one secret racing). Evicting it could lose
        // the current credentials, so refuse.
        throw new ConflictError(
          'credentials: the credential store already holds the most versions it keeps for these credentials, and the oldest is still protected; nothing was changed',
        );
      }
      if (error instanceof SSMServiceException && error.name === 'ValidationException') {
        throw ValidationError.single(
          ['credentials'],
          'The credentials are too large for the credential store',
        );
      }
      const status = error instanceof SSMServiceException ? error.$metadata.httpStatusCode : undefined;
      throw new UnavailableError(
        `The credential store is unavailable (${error instanceof Error ? error.name : 'error'}${status ? ` ${status}` : ''}); nothing was changed`,
        2,
      );
    }
  }
}
