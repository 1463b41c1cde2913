/**
 * The change feed's pure parts (no server, no database): event types from audit events, feed
 * positions, a live stream's buffer for a consumer that falls behind, and the look again at events
 * waiting to settle.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  type ChangeEvent,
  endedBefore,
  eventTypeOf,
  isAfter,
  parseSnapshot,
} from '../src/modules/events/change-event.js';
import { LiveStream, StreamEnded } from '../src/modules/events/change-feed.js';
import { SettleRetry } from '../src/modules/events/settle-retry.js';

const TEAM = 'team-a';

function event(seq: number, overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    id: `event-${seq}`,
    type: 'secret.updated',
    teamId: TEAM,
    resourceType: 'secret',
    resourceId: 'secret-1',
    resourceName: 'backups',
    version: seq,
    changedFields: ['description'],
    actorUserId: null,
    actorApiKeyId: null,
    occurredAt: new Date(0),
    position: { tx: '100', seq: String(seq) },
    ...overrides,
  };
}

const FILTER = { teamId: TEAM, apiKeyId: 'key-1', accepts: () => true };
/** Opened when transactions up to 99 had ended. */
const OPENED = parseSnapshot('100:100:');
const streamOf = (buffer: number, after: string | null = null) =>
  new LiveStream(FILTER, { tx: '100', seq: '0' }, buffer, OPENED, after);

describe('eventTypeOf', () => {
  it('names a change of a secret’s value a rotation, and any other change by its audit verb', () => {
    expect(eventTypeOf('secret', 'secret_updated', ['credentials'])).toBe('secret.rotated');
    expect(eventTypeOf('secret', 'secret_updated', ['name', 'field_mappings'])).toBe('secret.rotated');
    expect(eventTypeOf('secret', 'secret_updated', ['name', 'description'])).toBe('secret.updated');
    expect(eventTypeOf('secret', 'secret_rolled_back', ['credentials'])).toBe('secret.rolled_back');
    expect(eventTypeOf('vault_connection', 'vault_connection_rotated', ['token'])).toBe(
      'vault_connection.rotated',
    );
    expect(eventTypeOf('api_key', 'api_key_revoked', ['revoked_at'])).toBe('api_key.revoked');
  });
});

describe('isAfter', () => {
  it('orders by transaction, then by sequence, as numbers beyond 2^53', () => {
    expect(isAfter({ tx: '10', seq: '1' }, { tx: '9', seq: '500' })).toBe(true);
    expect(isAfter({ tx: '10', seq: '2' }, { tx: '10', seq: '1' })).toBe(true);
    expect(isAfter({ tx: '10', seq: '1' }, { tx: '10', seq: '1' })).toBe(false);
    expect(isAfter({ tx: '9007199254740993', seq: '1' }, { tx: '9007199254740992', seq: '9' })).toBe(true);
  });
});

describe('snapshots', () => {
  it('tell the transactions that had ended from those running or not yet started', () => {
    const snapshot = parseSnapshot('100:105:101,103');
    expect(['99', '100', '102', '104'].map((tx) => endedBefore(snapshot, tx))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['101', '103', '105', '200'].map((tx) => endedBefore(snapshot, tx))).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(endedBefore(parseSnapshot('7:7:'), '6')).toBe(true);
    expect(endedBefore(parseSnapshot('7:7:'), '7')).toBe(false);
  });
});

describe('LiveStream', () => {
  it('started now, leaves out events of transactions that had ended before it started', async () => {
    const stream = new LiveStream(FILTER, { tx: '100', seq: '0' }, 10, parseSnapshot('101:103:101'));
    stream.offer(event(1, { position: { tx: '101', seq: '1' } })); // running when it started: after it
    stream.offer(event(2, { position: { tx: '102', seq: '2' } })); // ended before it started
    stream.offer(event(3, { position: { tx: '103', seq: '3' } })); // started after it
    expect((await stream.next()).value).toMatchObject({ id: 'event-1' });
    expect((await stream.next()).value).toMatchObject({ id: 'event-3' });
  });

  it('delivers what it was offered in order, once, and only what comes after its position', async () => {
    const stream = streamOf(10);
    stream.offer(event(1));
    stream.offer(event(2));
    stream.offer(event(1)); // already seen
    stream.offer(event(3, { teamId: 'team-b' })); // another team
    expect((await stream.next()).value).toMatchObject({ id: 'event-1' });
    expect((await stream.next()).value).toMatchObject({ id: 'event-2' });
    const waiting = stream.next();
    stream.offer(event(4));
    expect((await waiting).value).toMatchObject({ id: 'event-4' });
  });

  it('ends with an overflow naming the last delivered event once its consumer falls a buffer behind', async () => {
    const stream = streamOf(2);
    let closed = false;
    stream.onClose(() => {
      closed = true;
    });
    stream.offer(event(1));
    expect((await stream.next()).value).toMatchObject({ id: 'event-1' });
    stream.offer(event(2));
    stream.offer(event(3));
    expect(closed).toBe(false);
    stream.offer(event(4)); // a third undelivered event: too many
    expect(closed).toBe(true);
    const last = (await stream.next()).value;
    expect(last).toBeInstanceOf(StreamEnded);
    expect(last).toMatchObject({ reason: 'overflow', lastEventId: 'event-1' });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('opened after an event, tells that event as where to resume when it ends before delivering any', async () => {
    const stream = streamOf(2, 'event-0');
    stream.end('shutdown');
    expect((await stream.next()).value).toMatchObject({ reason: 'shutdown', lastEventId: 'event-0' });
  });

  it('ends when a later event revokes, rotates or deletes its key, not for an earlier one or another key', async () => {
    const keyEvent = (seq: number, type: ChangeEvent['type'], resourceId: string, tx = '100') =>
      event(seq, { type, resourceType: 'api_key', resourceId, position: { tx, seq: String(seq) } });
    const stream = streamOf(10, 'event-0');
    stream.offer(keyEvent(1, 'api_key.revoked', 'key-1', '99')); // before it opened
    stream.offer(keyEvent(2, 'api_key.revoked', 'key-2'));
    stream.offer(event(3));
    // Another key's revocation is an event like any other here (the filter takes every event).
    expect((await stream.next()).value).toMatchObject({ id: 'event-2' });
    expect((await stream.next()).value).toMatchObject({ id: 'event-3' });
    stream.offer(keyEvent(4, 'api_key.rotated', 'key-1'));
    expect((await stream.next()).value).toMatchObject({ reason: 'revoked', lastEventId: 'event-3' });
    expect((await stream.next()).done).toBe(true);
  });

  it('ends at once when its consumer goes away, even while it waits for an event', async () => {
    const stream = streamOf(2);
    const waiting = stream.next();
    await stream.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    stream.offer(event(1));
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});

describe('SettleRetry', () => {
  it('looks again after 20 ms, then doubling up to 1 s while events wait, and from 20 ms once none did', () => {
    vi.useFakeTimers();
    try {
      const looks: number[] = [];
      const retry = new SettleRetry(() => looks.push(Date.now()));
      const start = Date.now();
      for (let i = 0; i < 8; i++) {
        retry.looked(true);
        retry.looked(true); // a second finding while one look is planned plans no other
        vi.runOnlyPendingTimers();
      }
      const waits = looks.map((at, i) => at - (i ? looks[i - 1]! : start));
      expect(waits).toEqual([20, 40, 80, 160, 320, 640, 1000, 1000]);
      retry.looked(false);
      retry.looked(true);
      vi.advanceTimersByTime(20);
      expect(looks).toHaveLength(9);
      retry.looked(true);
      retry.stop();
      vi.advanceTimersByTime(5000);
      expect(looks).toHaveLength(9);
    } finally {
      vi.useRealTimers();
    }
  });
});
