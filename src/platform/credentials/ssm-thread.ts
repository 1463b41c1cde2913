/**
 * The AWS SDK's thread (started by src/platform/credentials/ssm-store.ts). The SDK's work per call (its
 * middleware, SigV4 signing, the HTTP exchange) costs more CPU than the rest of a rotation, so it runs
 * here, beside the main thread's request handling. Receives `{ id, command, input }`, posts back
 * `{ id, output }` or `{ id, error }` (the error's name and HTTP status: never its message, which may
 * quote the request).
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface SsmThreadOptions {
  region: string;
  endpoint?: string;
  timeoutMs: number;
}

export interface SsmCallError {
  name: string;
  status?: number;
  /** An error answered by SSM itself (not a network failure or a timeout). */
  fromService: boolean;
}

const COMMANDS = {
  PutParameter: PutParameterCommand,
  GetParameter: GetParameterCommand,
  LabelParameterVersion: LabelParameterVersionCommand,
  DeleteParameter: DeleteParameterCommand,
  DescribeParameters: DescribeParametersCommand,
};

export type SsmCommand = keyof typeof COMMANDS;

const options = workerData as SsmThreadOptions;
const client = new SSMClient({
  region: options.region,
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

parentPort!.on(
  'message',
  async ({ id, command, input }: { id: number; command: SsmCommand; input: object }) => {
    try {
      // biome-ignore lint/suspicious/noExplicitAny: each command class takes its own input type
      const { $metadata: _, ...output } = await client.send(new (COMMANDS[command] as any)(input));
      parentPort!.postMessage({ id, output });
    } catch (caught) {
      const error: SsmCallError = {
        name: caught instanceof Error ? caught.name : 'Error',
        status: caught instanceof SSMServiceException ? caught.$metadata.httpStatusCode : undefined,
        fromService: caught instanceof SSMServiceException,
      };
      parentPort!.postMessage({ id, error });
    }
  },
);
