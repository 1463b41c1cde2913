import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ConflictError, ValidationError } from '../../domain/errors.js';
import { autocommit, type Sql, withBeforeCommit } from '../db/unit-of-work.js';
import type { RestResponse } from './rest-errors.js';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const RETENTION_HOURS = 24;
/** A claim still "in progress" after this long belongs to a request that will never finish. */
const ABANDONED_AFTER_SECONDS = 30;
/** This process, as recorded on its claims. */
const OWNER = `${hostname()}:${process.pid}`;
/** Headers worth replaying with a stored response. */
const REPLAYED_HEADERS = ['etag', 'location'];

/** Why a finished request's response cannot be sent again. */
const NOT_REPLAYABLE = {
  one_time_secret: 'The response to this request held a one-time secret and cannot be replayed',
  response_lost:
    'The request with this Idempotency-Key was carried out, but its response was lost (the server stopped or failed after the change was saved); read the resource to see its state',
} as const;

/**
 * Claims the key: a new row, or one whose claim lapsed (older than the retention, or left in progress
 * by a request that never finished). Returns nothing when the key is held.
 */
const CLAIM = `insert into idempotency_keys (api_key_id, key, request_hash, owner, created_at)
     values ($1, $2, $3, $4, now())
  on conflict (api_key_id, key) do update
     set request_hash = excluded.request_hash, owner = excluded.owner, status = null, response = null,
         committed_at = null, created_at = now()
   where idempotency_keys.created_at < now() - make_interval(hours => ${RETENTION_HOURS})
      or (idempotency_keys.status is null and idempotency_keys.committed_at is null
          and idempotency_keys.created_at < now() - make_interval(secs => ${ABANDONED_AFTER_SECONDS}))
  returning created_at`;
const MARK_COMMITTED = `update idempotency_keys set committed_at = coalesce(committed_at, now())
  where api_key_id = $1 and key = $2 and created_at = $3 returning 1`;
const FREE_UNCOMMITTED =
  'delete from idempotency_keys where api_key_id = $1 and key = $2 and committed_at is null returning 1';
const STORE_RESPONSE =
  'update idempotency_keys set status = $1, response = $2 where api_key_id = $3 and key = $4';
const READ_CLAIM = `select owner, request_hash, status, committed_at is not null as committed
  from idempotency_keys where api_key_id = $1 and key = $2`;
const TAKE_OVER = `update idempotency_keys set owner = $1, created_at = now()
  where api_key_id = $2 and key = $3 and owner = $4 and status is null and committed_at is null
  returning created_at`;
const READ_STORED = `select owner, request_hash, status, response, committed_at is not null as committed,
       created_at < now() - make_interval(secs => ${ABANDONED_AFTER_SECONDS}) as abandoned
  from idempotency_keys where api_key_id = $1 and key = $2`;
const PURGE_EXPIRED = `delete from idempotency_keys where created_at < now() - make_interval(hours => ${RETENTION_HOURS})`;

interface StoredResponse {
  body?: unknown;
  headers?: Record<string, string>;
  replayable: boolean;
  reason?: keyof typeof NOT_REPLAYABLE;
}

interface StoredRow {
  owner: string | null;
  request_hash: string;
  status: number | null;
  response: StoredResponse | null;
  committed: boolean;
  abandoned: boolean;
}

/**
 * `Idempotency-Key` on REST writes, kept in PostgreSQL for 24 hours so it holds across processes.
 * The first request claims the key; a retry with the same request gets the stored response, a
 * different request under the same key gets 422, and a retry while the first is running gets 409.
 * Outcomes that changed nothing (errors, 5xx) release the key so the request can be retried for real.
 * The claim is marked inside the write's own transaction, so a write that committed is never run
 * twice: if its response was lost (the process died, or failed after the commit), a retry gets 409.
 */
export class IdempotencyKeys {
  private readonly sql: Sql;

  constructor(orm: MikroORM) {
    this.sql = autocommit(orm);
  }

  async run(
    apiKeyId: string,
    key: string,
    request: { method: string; path: string; body: string },
    execute: () => Promise<RestResponse>,
  ): Promise<RestResponse> {
    if (!KEY_PATTERN.test(key)) {
      throw new ValidationError([
        {
          path: ['idempotency-key'],
          message: 'Idempotency-Key must be 1–255 visible ASCII characters',
          code: 'value_error',
          source: 'header',
        },
      ]);
    }
    const hash = createHash('sha256')
      .update(`${request.method} ${request.path}\n${request.body}`)
      .digest('hex');
    const [claimed] = await this.sql<{ created_at: Date }>(CLAIM, [apiKeyId, key, hash, OWNER]);
    const claimedAt = claimed?.created_at ?? (await this.takeOverFromDeadProcess(apiKeyId, key, hash));
    if (!claimedAt) return this.replay(apiKeyId, key, hash);

    // Only while the claim is still ours: a retry may have taken over a claim that ran too long.
    const markCommitted = async (sql: Sql) => {
      const marked = await sql(MARK_COMMITTED, [apiKeyId, key, claimedAt]);
      if (marked.length === 0) {
        throw new ConflictError(
          'A retry with this Idempotency-Key took over this request; it was not carried out',
        );
      }
    };
    let response: RestResponse;
    try {
      response = await withBeforeCommit(markCommitted, execute);
    } catch (error) {
      await this.finishWithoutResponse(apiKeyId, key);
      throw error;
    }
    if (response.status >= 500) {
      await this.finishWithoutResponse(apiKeyId, key);
      return response;
    }
    // A one-time secret (a new API key) is never stored; a retry is told so rather than re-run.
    const replayable = !response.oneTimeSecret;
    const headers = Object.fromEntries(
      Object.entries(response.headers ?? {}).filter(([name]) =>
        REPLAYED_HEADERS.includes(name.toLowerCase()),
      ),
    );
    const stored: StoredResponse = replayable
      ? { body: response.body, headers, replayable }
      : { replayable, reason: 'one_time_secret' };
    // The change is made: failing to keep its response must not turn it into an error (a retry then
    // learns that the response was lost).
    await this.store(apiKeyId, key, response.status, stored).catch(() => {});
    return response;
  }

  /**
   * The request failed: frees the key when nothing was committed (the request can be retried for
   * real); otherwise records that the change was made but has no response to replay.
   */
  private async finishWithoutResponse(apiKeyId: string, key: string): Promise<void> {
    const freed = await this.sql(FREE_UNCOMMITTED, [apiKeyId, key]);
    if (freed.length === 0) {
      await this.store(apiKeyId, key, 409, { replayable: false, reason: 'response_lost' });
    }
  }

  private async store(
    apiKeyId: string,
    key: string,
    status: number,
    response: StoredResponse,
  ): Promise<void> {
    await this.sql(STORE_RESPONSE, [status, JSON.stringify(response), apiKeyId, key]);
  }

  /**
   * A claim left in progress by a process on this host that no longer exists (killed mid-request)
   * is taken over at once; claims of other hosts are taken over once they are abandoned (30 s).
   */
  private async takeOverFromDeadProcess(apiKeyId: string, key: string, hash: string): Promise<Date | null> {
    const [row] = await this.sql<StoredRow>(READ_CLAIM, [apiKeyId, key]);
    if (
      !row ||
      row.status !== null ||
      row.committed ||
      row.request_hash !== hash ||
      !row.owner ||
      !isDeadLocalProcess(row.owner)
    ) {
      return null;
    }
    const [taken] = await this.sql<{ created_at: Date }>(TAKE_OVER, [OWNER, apiKeyId, key, row.owner]);
    return taken?.created_at ?? null;
  }

  private async replay(apiKeyId: string, key: string, hash: string): Promise<RestResponse> {
    const [row] = await this.sql<StoredRow>(READ_STORED, [apiKeyId, key]);
    if (!row) throw new ConflictError('The request with this Idempotency-Key just finished; retry');
    if (row.request_hash !== hash) {
      throw new ValidationError([
        {
          path: ['idempotency-key'],
          message: 'This Idempotency-Key was used for a different request',
          code: 'idempotency_key_reused',
          source: 'header',
        },
      ]);
    }
    if (row.status === null || !row.response) {
      // Committed, but the process that made the change died before storing its response.
      const lost = row.committed && (row.abandoned || (row.owner !== null && isDeadLocalProcess(row.owner)));
      throw new ConflictError(
        lost ? NOT_REPLAYABLE.response_lost : 'A request with this Idempotency-Key is still in progress',
      );
    }
    if (!row.response.replayable) {
      throw new ConflictError(NOT_REPLAYABLE[row.response.reason ?? 'one_time_secret']);
    }
    return {
      status: row.status,
      body: row.response.body,
      headers: { ...row.response.headers, 'idempotent-replayed': 'true' },
    };
  }

  async purgeExpired(): Promise<void> {
    await this.sql(PURGE_EXPIRED);
  }
}

function isDeadLocalProcess(owner: string): boolean {
  const separator = owner.lastIndexOf(':');
  if (owner.slice(0, separator) !== hostname()) return false;
  const pid = Number(owner.slice(separator + 1));
  if (!Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
