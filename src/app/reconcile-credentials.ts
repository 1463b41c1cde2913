import type { MikroORM } from '@mikro-orm/postgresql';
import { CredentialNotFoundError, type CredentialStore } from '../platform/credentials/credential-store.js';
import { autocommit } from '../platform/db/unit-of-work.js';

export interface ReconcileReport {
  /** Rows whose current credential version cannot be read from the store. */
  unreadable: {
    resource_type: 'secret' | 'vault_connection';
    id: string;
    team_id: string;
    version: number;
    reason: string;
  }[];
  /** Stored references that no secret or vault connection owns (a failed create, a lost cleanup). */
  orphans: string[];
  /** Orphans removed (with --fix). */
  removed: string[];
}

/**
 * Compares the database with the credential store: every row's current version must be readable,
 * and every stored reference must have an owner. With `fix`, orphans are deleted.
 */
export async function reconcile(
  orm: MikroORM,
  store: CredentialStore,
  fix: boolean,
): Promise<ReconcileReport> {
  const sql = autocommit(orm);
  const owners = await sql<{
    resource_type: 'secret' | 'vault_connection';
    id: string;
    team_id: string;
    ref: string;
    version: number;
  }>(
    `select 'secret' as resource_type, id, team_id, credential_ref as ref, credential_version as version
       from secrets where credential_ref is not null
     union all
     select 'vault_connection', id, team_id, credential_ref, credential_version from vault_connections`,
  );
  const report: ReconcileReport = { unreadable: [], orphans: [], removed: [] };
  for (const owner of owners) {
    try {
      await store.get(owner.ref, owner.version, sql);
    } catch (error) {
      report.unreadable.push({
        resource_type: owner.resource_type,
        id: owner.id,
        team_id: owner.team_id,
        version: owner.version,
        reason:
          error instanceof CredentialNotFoundError
            ? 'missing'
            : error instanceof Error
              ? error.name
              : 'error',
      });
    }
  }
  const owned = new Set(owners.map((o) => o.ref));
  report.orphans = (await store.listRefs(sql)).filter((ref) => !owned.has(ref)).sort();
  if (fix) {
    for (const ref of report.orphans) {
      await store.delete(ref, sql);
      report.removed.push(ref);
    }
  }
  return report;
}
