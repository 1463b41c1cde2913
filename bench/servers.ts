/** Starts the servers under test: the product (as `npm start` runs it) or the ceiling, each as its own process. */
import { type Child, freePort, startNode, startProduct, waitHealthy } from './harness.js';
import type { Workload } from './workloads.js';

export interface ServerOptions {
  databaseUrl: string;
  dataDir: string;
  credentialKey: string;
  poolMax: number;
  /** Extra node flags for the server process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Extra `--import` preloads (after tsx). */
  imports?: string[];
  env?: Record<string, string | undefined>;
  /** Log/profile name; default the workload id. */
  name?: string;
  /** The checkout whose product to start (another build, for an A/B run); default this one. */
  root?: string;
}

export interface StartedServer {
  server: Child;
  /** Helper processes (the fake SSM), stopped after the server. */
  helpers: Child[];
  url: string;
}

export async function startServer(workload: Workload, options: ServerOptions): Promise<StartedServer> {
  const name = options.name ?? workload.id;
  const helpers: Child[] = [];
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let server: Child | undefined;
  try {
    if (workload.server === 'product') {
      const env: Record<string, string | undefined> = {
        DATABASE_URL: options.databaseUrl,
        DATABASE_POOL_MAX: String(options.poolMax),
        DATA_DIR: options.dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        CREDENTIAL_KEY: options.credentialKey,
        CREDENTIAL_STORE: workload.store ?? 'local',
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_IP_PER_MINUTE: '0',
        // Request logging at info would dominate the profile; warn still shows unexpected errors.
        LOG_LEVEL: 'warn',
        ...options.env,
      };
      if (workload.store === 'ssm') {
        const fake = startNode(`${name}.fake-ssm`, 'test/support/fake-ssm.ts', {}, { args: ['0'] });
        helpers.push(fake);
        const line = await fake.waitForLine('"url"', 30_000);
        Object.assign(env, {
          AWS_ENDPOINT_URL_SSM: (JSON.parse(line) as { url: string }).url,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_SESSION_TOKEN: undefined,
          AWS_PROFILE: undefined,
        });
      }
      server = startProduct(name, env, {
        nodeArgs: options.nodeArgs,
        imports: options.imports,
        root: options.root,
      });
    } else {
      server = startNode(
        name,
        'bench/ceiling.ts',
        {
          DATABASE_URL: options.databaseUrl,
          PORT: String(port),
          HOST: '127.0.0.1',
          CEILING_MODE: workload.server === 'ceiling-tx' ? 'tx' : 'bare',
          CEILING_POOL_MAX: String(options.poolMax),
          ...options.env,
        },
        { nodeArgs: options.nodeArgs, imports: options.imports },
      );
    }
    await waitHealthy(server, `${url}/healthz`, 90_000);
  } catch (error) {
    await server?.stop();
    for (const helper of helpers) await helper.stop();
    throw error;
  }
  return { server, helpers, url };
}
