/**
 * The benchmark's ceiling: a bare `node:http` server doing the logical work of the REST rename
 * (`PATCH /v1/teams/:team_id/secrets/:secret_id` with `{"name": ...}`) with no framework and no ORM.
 *
 * - `CEILING_MODE=bare` (default): look the API key up by key id + sha256 hash of its secret (the
 *   same hash as src/modules/api-keys/api-key-format.ts), joined to the creator's membership for the role (as
 *   src/modules/api-keys/authenticate.ts); check revoked/expired, team, scope and role; then one
 *   `UPDATE secrets ... RETURNING` as a named prepared statement through a `pg.Pool`.
 *   Two round trips per request, no explicit transaction, no audit row.
 * - `CEILING_MODE=tx`: the product's SQL shape with raw `pg`: the same key lookup, then
 *   BEGIN; SELECT ... FOR UPDATE; name-clash count; UPDATE; INSERT audit event; COMMIT.
 *   Seven round trips. Separates "what the SQL costs" from "what the framework and ORM cost".
 *
 * Env: DATABASE_URL (required), PORT (default 0), HOST (default 127.0.0.1), CEILING_POOL_MAX
 * (default 10, the product's DATABASE_POOL_MAX default). Prints `{"listening": url}` on stdout.
 * Run: `node --import tsx bench/ceiling.ts`.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

const KEY_PATTERN = /^Bearer\s+dr_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})\s*$/i;
const ROUTE = /^\/v1\/teams\/([0-9a-f-]{36})\/secrets\/([0-9a-f-]{36})$/i;
const ROLE_RANK: Record<string, number> = { viewer: 0, operator: 1, admin: 2, owner: 3 };
const HEADERS = {
  'content-type': 'application/json',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const mode = process.env.CEILING_MODE === 'tx' ? 'tx' : 'bare';
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.CEILING_POOL_MAX ?? 10),
});
pool.on('error', () => {}); // an idle client's error must not kill the process

const AUTH_SQL = {
  name: 'ceiling_auth',
  text: `select k.id, k.team_id, k.created_by, k.scopes, k.expires_at, k.revoked_at, k.secret_hash, m.role
           from api_keys k
           left join memberships m on m.team_id = k.team_id and m.user_id = k.created_by
          where k.key_id = $1 and k.secret_hash = $2`,
};
const RETURNING = `returning id, name, description, secret_type, auth_method, version,
                             created_at, created_by, updated_at, updated_by`;
const RENAME_SQL = {
  name: 'ceiling_rename',
  text: `update secrets set name = $1, updated_at = now(), updated_by = $4, version = version + 1
          where id = $2 and team_id = $3 ${RETURNING}`,
};
const LOCK_SQL = {
  name: 'ceiling_lock',
  text: 'select id, name, version from secrets where id = $1 and team_id = $2 for update',
};
const NAME_TAKEN_SQL = {
  name: 'ceiling_name_taken',
  text: 'select count(*)::int as n from secrets where team_id = $1 and name = $2',
};
const AUDIT_SQL = {
  name: 'ceiling_audit',
  text: `insert into audit_events (id, team_id, event_type, resource_type, resource_id, resource_name,
           actor_user_id, actor_api_key_id, changed_fields, ip, user_agent, request_id, created_at)
         values ($1, $2, 'secret_updated', 'secret', $3, $4, $5, $6, $7, $8, $9, $10, now())`,
};

interface KeyRow {
  id: string;
  team_id: string;
  created_by: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  secret_hash: string;
  role: string | null;
}

interface SecretRow {
  id: string;
  name: string;
  description: string | null;
  secret_type: string;
  auth_method: string;
  version: number;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  updated_by: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...HEADERS, ...extra, 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1_048_576) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'The request body must be a JSON object (it is not valid JSON)');
  }
}

async function authenticate(authorization: string | undefined): Promise<KeyRow> {
  const match = authorization ? KEY_PATTERN.exec(authorization) : null;
  if (!match) throw new HttpError(401, 'Not authenticated');
  const hash = createHash('sha256').update(match[2]).digest('hex');
  const { rows } = await pool.query<KeyRow>({ ...AUTH_SQL, values: [match[1], hash] });
  const row = rows[0];
  // The lookup already matched the hash; compare once more in constant time, as the product does.
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), Buffer.from(hash, 'hex'))) {
    throw new HttpError(401, 'Not authenticated');
  }
  if (row.revoked_at || (row.expires_at && row.expires_at.getTime() <= Date.now())) {
    throw new HttpError(401, 'Not authenticated');
  }
  return row;
}

function authorize(key: KeyRow, teamId: string): void {
  if (key.team_id !== teamId) throw new HttpError(404, 'Team not found');
  if (!key.scopes.includes('secrets:update'))
    throw new HttpError(403, "This API key lacks the scope 'secrets:update'");
  if (key.role === null || ROLE_RANK[key.role] < ROLE_RANK.admin) throw new HttpError(403, 'Role too low');
}

function view(row: SecretRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    secret_type: row.secret_type,
    auth_method: row.auth_method,
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
    updated_at: row.updated_at.toISOString(),
    updated_by: row.updated_by,
  };
}

async function renameBare(key: KeyRow, teamId: string, secretId: string, name: string): Promise<SecretRow> {
  const { rows } = await pool.query<SecretRow>({
    ...RENAME_SQL,
    values: [name, secretId, teamId, key.created_by],
  });
  if (!rows[0]) throw new HttpError(404, 'Secret not found');
  return rows[0];
}

async function renameTx(
  key: KeyRow,
  teamId: string,
  secretId: string,
  name: string,
  req: IncomingMessage,
  requestId: string,
): Promise<SecretRow> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const locked = await client.query<{ id: string }>({ ...LOCK_SQL, values: [secretId, teamId] });
    if (!locked.rows[0]) throw new HttpError(404, 'Secret not found');
    const taken = await client.query<{ n: number }>({ ...NAME_TAKEN_SQL, values: [teamId, name] });
    if (taken.rows[0].n > 0) throw new HttpError(409, `A secret named '${name}' already exists in the team`);
    const { rows } = await client.query<SecretRow>({
      ...RENAME_SQL,
      values: [name, secretId, teamId, key.created_by],
    });
    await client.query({
      ...AUDIT_SQL,
      values: [
        randomUUID(),
        teamId,
        secretId,
        name,
        key.created_by,
        key.id,
        ['name'],
        req.socket.remoteAddress ?? null,
        req.headers['user-agent'] ?? null,
        requestId,
      ],
    });
    await client.query('commit');
    return rows[0];
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

const server = createServer(async (req, res) => {
  const requestId = randomUUID();
  res.setHeader('x-request-id', requestId);
  try {
    if (req.url === '/healthz') return send(res, 200, { status: 'ok' });
    const route = req.method === 'PATCH' ? ROUTE.exec(req.url ?? '') : null;
    if (!route) return send(res, 404, { detail: 'Not Found' });
    const teamId = route[1].toLowerCase();
    const secretId = route[2].toLowerCase();
    const key = await authenticate(req.headers.authorization);
    authorize(key, teamId);
    const body = (await readBody(req)) as { name?: unknown } | null;
    const name = body?.name;
    if (typeof name !== 'string' || name.length < 1 || name.length > 255) {
      return send(res, 422, {
        detail: [{ loc: ['body', 'name'], msg: 'name must be 1-255 characters', type: 'string' }],
      });
    }
    const row =
      mode === 'tx'
        ? await renameTx(key, teamId, secretId, name, req, requestId)
        : await renameBare(key, teamId, secretId, name);
    send(res, 200, view(row), { etag: `"${row.version}"` });
  } catch (error) {
    if (error instanceof HttpError) return send(res, error.status, { detail: error.message });
    if ((error as { code?: string }).code === '23505') {
      return send(res, 409, { detail: 'A secret with this name already exists in the team' });
    }
    // A client that hangs up mid-request (autocannon stopping with requests in flight) is not news.
    if (req.destroyed || (error as Error).message === 'aborted') return;
    process.stderr.write(`ceiling: unexpected error: ${(error as Error).message}\n`);
    send(res, 500, { detail: 'Internal server error' });
  }
});
server.keepAliveTimeout = 65_000;

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${port}`, mode })}\n`);
});

const stop = () => {
  server.close();
  server.closeIdleConnections();
  void pool.end().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
