/** In-process access to the database and credential store behind a server, for the integrity checks. */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CredentialStore } from '../../../src/platform/credentials/credential-store.js';
import { autocommit } from '../../../src/platform/db/unit-of-work.js';
import type { Inspector } from './concurrency.js';

export function inspectorFor(orm: MikroORM, store: CredentialStore): Inspector {
  return {
    readCredentials: (ref, version) => store.get(ref, version, autocommit(orm)),
    async row(secretId) {
      const rows = await orm.em
        .fork()
        .getConnection()
        .execute<{ version: number; credential_version: number | null }[]>(
          'select version, credential_version from secrets where id = ?',
          [secretId],
        );
      if (!rows[0]) throw new Error(`no secret ${secretId}`);
      const { version, credential_version } = rows[0];
      return {
        version: Number(version),
        credential_version: credential_version === null ? null : Number(credential_version),
      };
    },
  };
}
