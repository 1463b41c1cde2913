import { ENTITIES } from '../src/app/database.js';
import { bootstrapTeam } from '../src/app/team-admin.js';
/**
 * Seeds the bench database through the product's own code: `openDatabase` (which migrates),
 * `bootstrapTeam` (a pro team, its owner and an owner API key with every scope), `authenticate`, and
 * `SecretService.create` with the local credential store (the same CREDENTIAL_KEY is then given to
 * the servers under test). Teams are seeded in parallel, each team's secrets one after another
 * (creates in one team take turns on the team row anyway).
 */
import { authenticate } from '../src/modules/api-keys/authenticate.js';
import { SecretService } from '../src/modules/secrets/secret.service.js';
import { CredentialCleanup } from '../src/platform/credentials/credential-cleanup.js';
import { LocalCredentialStore } from '../src/platform/credentials/local-store.js';
import { openDatabase } from '../src/platform/db/database.js';
import { createLogger } from '../src/platform/logger.js';

export interface SeededTeam {
  teamId: string;
  apiKey: string;
  authorization: string;
  secretIds: string[];
}

export interface Fixture {
  teams: SeededTeam[];
  secretCount: number;
}

export async function seed(options: {
  databaseUrl: string;
  dataDir: string;
  credentialKey: string;
  teams: number;
  secretsPerTeam: number;
}): Promise<Fixture> {
  const db = await openDatabase({
    entities: ENTITIES,
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    poolMax: 10,
  });
  try {
    const logger = createLogger('silent');
    const store = new LocalCredentialStore(Buffer.from(options.credentialKey, 'base64'));
    const secrets = new SecretService(db.orm, store, new CredentialCleanup(db.orm, store, logger));
    const meta = { requestId: 'bench-seed', ip: null, userAgent: 'bench-seed' };
    const teams = await Promise.all(
      Array.from({ length: options.teams }, async (_, t): Promise<SeededTeam> => {
        const created = await bootstrapTeam(db.orm, {
          team: `bench-team-${t}`,
          email: `bench-owner-${t}@bench.example`,
          plan: 'pro',
        });
        const authorization = `Bearer ${created.api_key}`;
        const actor = await authenticate(db.orm, authorization);
        const secretIds: string[] = [];
        for (let s = 0; s < options.secretsPerTeam; s++) {
          const secret = await secrets.create(actor, meta, created.team_id, {
            name: `seed-${t}-${s}`,
            description: 'benchmark secret',
            secretType: 's3',
            authMethod: 's3_access_key',
            value: {
              credentials: {
                access_key_id: `AKIABENCH${t}X${s}`,
                secret_access_key: `bench-secret-${t}-${s}`,
              },
            },
          });
          secretIds.push(secret.id);
        }
        return { teamId: created.team_id, apiKey: created.api_key, authorization, secretIds };
      }),
    );
    return { teams, secretCount: teams.reduce((n, t) => n + t.secretIds.length, 0) };
  } finally {
    await db.close();
  }
}
