import {
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { UnavailableError, ValidationError } from '../domain/errors.js';
import { CredentialNotFoundError, type CredentialStore, type CredentialValue } from './credential-store.js';

export interface SsmStoreOptions {
  region?: string;
  endpoint?: string;
  kmsKeyId?: string;
  prefix: string;
  timeoutMs: number;
}

/**
 * AWS SSM Parameter Store: one SecureString parameter per reference, read back by explicit
 * version (`name:version`). The SDK's standard retry policy handles throttling and 5xx; a store
 * that keeps failing becomes a 503 with no change made.
 */
export class SsmCredentialStore implements CredentialStore {
  readonly kind = 'ssm';
  private readonly client: SSMClient;

  constructor(private readonly options: SsmStoreOptions) {
    this.client = new SSMClient({
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint,
      maxAttempts: 3,
      retryMode: 'standard',
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

  async put(ref: string, value: CredentialValue): Promise<number> {
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
    return result.Version;
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
