/**
 * The Hive Gateway recipe (examples/hive-gateway/) as its README runs it: the example's compose.ts
 * writes the supergraph from a running server's `_service { sdl }`, and the real `hive-gateway
 * supergraph` CLI, started in the example's directory, loads its gateway.config.ts.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './scenarios/processes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const example = path.join(root, 'examples', 'hive-gateway');
const gatewayCli = path.join(root, 'node_modules', '@graphql-hive', 'gateway', 'dist', 'bin.js');

export interface Gateway {
  url: string;
  /** Everything the gateway wrote to stdout and stderr so far. */
  output: () => string;
  /** Stops the process (also one whose start failed) and waits for it to exit. */
  stop: () => Promise<void>;
}

/** `compose.ts --url <graphqlUrl> --out <out>` in the example's directory, the key in the environment. */
export async function composeSupergraph(graphqlUrl: string, apiKey: string, out: string): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'compose.ts', '--url', graphqlUrl, '--out', out],
    { cwd: example, env: { ...process.env, SECRETS_API_KEY: apiKey } },
  );
}

/**
 * `hive-gateway supergraph <file>` in the example's directory (so it finds gateway.config.ts there).
 * `started` receives the gateway before it listens, so that a caller can stop one that never does.
 */
export async function startGateway(
  supergraph: string,
  started: (gateway: Gateway) => void,
  configPath?: string,
): Promise<Gateway> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      gatewayCli,
      'supergraph',
      supergraph,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      ...(configPath ? ['--config-path', configPath] : []),
    ],
    { cwd: example, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gateway: Gateway = {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
  started(gateway);
  await new Promise<void>((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('Listening on')) resolve();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    exited.then(() => reject(new Error(`hive-gateway exited before listening:\n${output}`)));
  });
  return gateway;
}
