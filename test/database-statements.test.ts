/**
 * The embedded test database keeps each connection's statements whole. All connections of the test
 * run's PGlite socket share one PGlite session, and the pg driver sends a statement with parameters
 * as several protocol messages (Parse, Bind, Describe, Execute, Sync): another connection's statement
 * must not run between them, or it replaces the unnamed statement the first one then binds
 * (test/support/global-setup.ts; electric-sql/pglite#1046); and a connection that is between
 * statements holds nobody up. Spoken in the wire protocol itself, so the interleaving is forced
 * rather than hoped for. On a PostgreSQL server every connection has its own session, and both hold
 * as they do there.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';

/** A backend message: its type byte and body. */
interface Message {
  type: string;
  body: Buffer;
}

/** One connection speaking the PostgreSQL wire protocol (v3), message by message. */
class WireConnection {
  private buffer = Buffer.alloc(0);
  private readonly received: Message[] = [];
  private waiting: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 5 && this.buffer.length >= 1 + this.buffer.readInt32BE(1)) {
        const end = 1 + this.buffer.readInt32BE(1);
        this.received.push({
          type: String.fromCharCode(this.buffer[0]!),
          body: this.buffer.subarray(5, end),
        });
        this.buffer = this.buffer.subarray(end);
      }
      this.waiting?.();
    });
  }

  /** A connection that has started up; unless `idle`, it has also run a first query, as a pool's do. */
  static async open(url: string, { idle = false, within = 10_000 } = {}): Promise<WireConnection> {
    const { hostname, port, username, password, pathname } = new URL(url);
    const socket = connect(Number(port), hostname);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const connection = new WireConnection(socket);
    const params = Buffer.from(`user\0${username}\0database\0${pathname.slice(1) || username}\0\0`);
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + params.length, 0);
    startup.writeInt32BE(196608, 4);
    socket.write(Buffer.concat([startup, params]));
    for (;;) {
      const message = await connection.next(['R', 'Z', 'E'], within);
      if (message.type === 'E') throw new Error(`startup refused: ${message.body.toString()}`);
      if (message.type === 'R') connection.answer(message.body, username, password);
      if (message.type === 'Z') break;
    }
    if (!idle) {
      connection.send(frame('Q', cstring('select 1')));
      await connection.untilReady();
    }
    return connection;
  }

  /** Answers an authentication request: ok, a cleartext or an MD5 password (what the test databases ask). */
  private answer(request: Buffer, user: string, password: string): void {
    const method = request.readInt32BE(0);
    if (method === 3) this.send(frame('p', cstring(password)));
    if (method === 5) {
      const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
      const salted = md5(Buffer.concat([Buffer.from(md5(password + user)), request.subarray(4, 8)]));
      this.send(frame('p', cstring(`md5${salted}`)));
    }
    if (![0, 3, 5].includes(method)) throw new Error(`authentication method ${method} is not supported here`);
  }

  /** The next message of one of `types`, skipping others; undefined if none comes within `ms`. */
  async next(types: string[], ms = 10_000): Promise<Message> {
    const deadline = Date.now() + ms;
    for (;;) {
      const at = this.received.findIndex((m) => types.includes(m.type));
      if (at !== -1) return this.received.splice(at, 1)[0]!;
      if (Date.now() >= deadline) throw new Error(`no ${types.join('/')} within ${ms} ms`);
      await Promise.race([new Promise<void>((resolve) => (this.waiting = resolve)), sleep(50)]);
    }
  }

  /** Every message up to and including the next ReadyForQuery. */
  async untilReady(): Promise<Message[]> {
    const messages: Message[] = [];
    for (;;) {
      const message = await this.next(['1', '2', 'T', 'D', 'C', 'E', 'n', 'Z']);
      messages.push(message);
      if (message.type === 'Z') return messages;
    }
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  close(): void {
    this.socket.end(frame('X', Buffer.alloc(0)));
  }
}

function frame(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0);
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

const cstring = (text: string) => Buffer.from(`${text}\0`);
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

const parse = (text: string) => frame('P', Buffer.concat([cstring(''), cstring(text), int16(0)]));
const bind = (values: string[]) =>
  frame(
    'B',
    Buffer.concat([
      cstring(''),
      cstring(''),
      int16(0),
      int16(values.length),
      ...values.flatMap((v) => [int32(Buffer.byteLength(v)), Buffer.from(v)]),
      int16(0),
    ]),
  );
const describePortal = frame('D', Buffer.concat([Buffer.from('P'), cstring('')]));
const execute = frame('E', Buffer.concat([cstring(''), int32(0)]));
const flush = frame('H', Buffer.alloc(0));
const sync = frame('S', Buffer.alloc(0));

/** The first column of each DataRow, as text; the message of each ErrorResponse. */
function outcome(messages: Message[]): { rows: string[]; errors: string[] } {
  const rows = messages
    .filter((m) => m.type === 'D')
    .map((m) => m.body.subarray(6, 6 + m.body.readInt32BE(2)).toString());
  const errors = messages
    .filter((m) => m.type === 'E')
    .map((m) =>
      m.body
        .toString()
        .split('\0')
        .filter((field) => field.startsWith('M'))
        .join(),
    );
  return { rows, errors };
}

const connections: WireConnection[] = [];
afterAll(() => {
  for (const connection of connections) connection.close();
});

describe('connections sharing the test database', () => {
  it("another connection's statement waits until a started one has been bound, run and synced", async () => {
    const url = inject('databaseUrl');
    const [a, b] = [await WireConnection.open(url), await WireConnection.open(url)];
    connections.push(a, b);

    // A parses its statement (the session's unnamed statement now) and stops before binding it.
    a.send(parse('select $1::text as tag'), flush);
    await a.next(['1']);
    // B sends a whole statement of another shape; the session must not run it before A's Sync.
    b.send(parse('select ($1::int + $2::int)::text as n'), bind(['1', '2']), describePortal, execute, sync);
    const bDone = b.untilReady();
    await Promise.race([bDone, sleep(300)]);
    a.send(bind(['mine']), describePortal, execute, sync);

    expect(outcome(await a.untilReady())).toEqual({ rows: ['mine'], errors: [] });
    expect(outcome(await bDone)).toEqual({ rows: ['3'], errors: [] });
  });

  it('a connection that has only started up holds nobody up', async () => {
    const url = inject('databaseUrl');
    const idle = await WireConnection.open(url, { idle: true });
    try {
      // Were the idle connection holding the session, this would wait until it closed.
      const other = await WireConnection.open(url, { within: 2_000 });
      connections.push(other);
      other.send(parse('select $1::text as tag'), bind(['other']), describePortal, execute, sync);
      expect(outcome(await other.untilReady())).toEqual({ rows: ['other'], errors: [] });
    } finally {
      idle.close();
    }
  });
});
