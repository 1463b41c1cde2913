import type { MikroORM } from '@mikro-orm/postgresql';
import { UnavailableError } from '../../domain/errors.js';
import { listen } from '../../platform/db/notifications.js';
import { autocommit, onCommit, type Sql } from '../../platform/db/unit-of-work.js';
import { describeError, type Logger } from '../../platform/logger.js';
import {
  type ChangeEvent,
  endedBefore,
  endsKey,
  type FeedPosition,
  isAfter,
  type Snapshot,
} from './change-event.js';
import { eventRepository } from './event.repository.js';
import { SettleRetry } from './settle-retry.js';

const BATCH = 500;
/** At most one notification of other processes per this many milliseconds. */
const NOTIFY_INTERVAL_MS = 100;

export interface FeedOptions {
  /** Where to LISTEN for other processes' commits; null: none (PGlite), polling only. */
  listenUrl: string | null;
  /** How often to look for events nobody told this process about (another process on PGlite, a lost notification). */
  pollMs: number;
  /** Events a live stream may hold for a slow consumer before it ends. */
  streamBuffer: number;
}

/** What a live stream wants: one team's events, optionally only some, for the API key that opened it. */
export interface StreamFilter {
  teamId: string;
  apiKeyId: string;
  accepts(event: ChangeEvent): boolean;
}

/**
 * The last item of a stream the server ended: its consumer fell behind (`overflow`), the server is
 * stopping (`shutdown`) — either way the consumer resumes with `after: lastEventId` — the key it
 * was opened with no longer authenticates (`revoked`: revoked, rotated, deleted or expired), or its
 * creator may no longer read the team's secrets (`forbidden`).
 */
export class StreamEnded {
  constructor(
    readonly reason: 'overflow' | 'shutdown' | 'revoked' | 'forbidden',
    readonly lastEventId: string | null,
  ) {}
}

/** How long a stream asked to start after a committed but not yet settled event waits for it to settle. */
const SETTLE_WAIT_MS = 5000;

export type StreamItem = ChangeEvent | StreamEnded;

/**
 * The process's view of the change feed. Woken by this process's commits, by the database's
 * notifications (other processes' commits) and by a timer, it reads the new settled events once and
 * hands them to the live streams of their team, and tells its other listeners (webhook fan-out) to
 * look. While no stream is open it reads nothing.
 */
export class ChangeFeed {
  /** Everything up to here has been handed out; undefined until the first stream opens. */
  private position: FeedPosition | undefined;
  private readonly streams = new Set<LiveStream>();
  private readonly listeners = new Set<(poll: boolean) => void>();
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private notifying: Promise<void> | undefined;
  private notifyAgain = false;
  private closed = false;
  private readonly stops: (() => unknown)[] = [];
  private listener: ReturnType<typeof listen> | undefined;
  private readonly retry = new SettleRetry(() => this.wake());
  private readonly sql: Sql;

  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
    private readonly options: FeedOptions,
  ) {
    this.sql = autocommit(orm);
  }

  start(): void {
    this.stops.push(
      onCommit(this.orm, () => {
        this.wake();
        this.notifyOthers();
      }),
    );
    if (this.options.listenUrl) {
      const listener = listen(this.options.listenUrl, 'change_events', () => this.wake(), this.logger);
      this.listener = listener;
      this.stops.push(() => listener.close());
    }
    const timer = setInterval(() => this.wake(true), this.options.pollMs);
    timer.unref();
    this.stops.push(
      () => clearInterval(timer),
      () => this.retry.stop(),
    );
  }

  /** Called on every wake-up; `poll` says it is the timer's. */
  onWake(listener: (poll: boolean) => void): void {
    this.listeners.add(listener);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Ends every stream (its consumer resumes elsewhere with `after`) and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    for (const stream of this.streams) stream.end('shutdown');
    await Promise.all(this.stops.map((stop) => stop()));
    await Promise.all([this.reading, this.notifying]);
  }

  /**
   * Wakes the other processes (their LISTEN) after a commit here: one `pg_notify` at a time, at most
   * every NOTIFY_INTERVAL_MS, each in a statement of its own on the LISTEN connection (not the pool's,
   * so it never waits for or takes a connection a request needs). A NOTIFY inside the change's
   * transaction would have every write's commit wait its turn for PostgreSQL's notification queue
   * lock (measured: a quarter of the rename throughput).
   */
  private notifyOthers(): void {
    const listener = this.listener;
    if (!listener || this.closed) return;
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = (async () => {
      do {
        this.notifyAgain = false;
        await listener
          .notify()
          .catch((error) => this.logger.warn({ error: describeError(error) }, 'change feed: notify failed'));
        await new Promise((resolve) => setTimeout(resolve, NOTIFY_INTERVAL_MS));
      } while (this.notifyAgain && !this.closed);
    })().finally(() => {
      this.notifying = undefined;
    });
  }

  wake(poll = false): void {
    if (this.closed) return;
    for (const listener of this.listeners) listener(poll);
    if (!this.streams.size) {
      // Idle: nothing to read for. The next stream starts from the head of that moment.
      this.position = undefined;
      return;
    }
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readNew()
      .catch((error) => this.logger.warn({ error: describeError(error) }, 'change feed: read failed'))
      .finally(() => {
        this.reading = undefined;
      });
  }

  private async readNew(): Promise<void> {
    do {
      this.readAgain = false;
      const from = this.position;
      if (!from) return; // the last stream closed meanwhile
      // Every team's events, so the position moves past them all (a quiet team's stream costs nothing).
      // No more at once than a stream may hold: a batch alone never overflows a consumer that keeps up.
      const limit = Math.min(BATCH, this.options.streamBuffer);
      const { events, unsettled } = await eventRepository.after(this.sql, from, { limit });
      // Handed out and moved past in one synchronous step: a stream catching up compares with it.
      for (const event of events) {
        for (const stream of this.streams) if (stream.live) stream.offer(event);
      }
      if (events.length) this.position = events.at(-1)!.position;
      if (events.length === limit) this.readAgain = true;
      else if (!this.readAgain && !this.closed) this.retry.looked(unsettled);
    } while (this.readAgain && !this.closed);
  }

  /**
   * A stream of the filter's events: after the event `after` (replayed from the table, then live,
   * without a gap or a repeat), or those that commit from now on. Null when the server is stopping
   * or `gone` aborted (its client left) before it opened.
   */
  async open(
    filter: StreamFilter,
    after: { id: string; position: FeedPosition } | null,
    gone?: AbortSignal,
  ): Promise<LiveStream | null> {
    let now = await eventRepository.now(this.sql);
    // An event committed while an older transaction still runs: that one's events would come before it.
    const deadline = Date.now() + SETTLE_WAIT_MS;
    while (after && BigInt(after.position.tx) >= now.horizon && !this.closed && !gone?.aborted) {
      if (Date.now() >= deadline) {
        throw new UnavailableError('The event named in `after` is not settled yet; retry shortly', 1);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = await eventRepository.now(this.sql);
    }
    if (this.closed || gone?.aborted) return null;
    this.position ??= now.head;
    const stream = after
      ? new LiveStream(filter, after.position, this.options.streamBuffer, now.snapshot, after.id)
      : new LiveStream(filter, now.head, this.options.streamBuffer, now.snapshot);
    this.streams.add(stream);
    stream.onClose(() => this.streams.delete(stream));
    void this.catchUp(stream).catch((error) => {
      this.logger.warn({ error: describeError(error) }, 'change feed: replay failed');
      stream.end('shutdown');
    });
    return stream;
  }

  /**
   * Replays the stream's events from the table, as fast as its consumer takes them, until it has
   * reached the feed's position: from then on the feed hands it new events.
   */
  private async catchUp(stream: LiveStream): Promise<void> {
    while (!stream.done) {
      const through = this.position!;
      if (!isAfter(through, stream.position)) {
        stream.live = true;
        return;
      }
      if (stream.room() === 0) {
        await stream.roomFreed();
        continue;
      }
      const limit = Math.min(BATCH, stream.room());
      const { events } = await eventRepository.after(this.sql, stream.position, {
        teamIds: [stream.teamId],
        through,
        limit,
      });
      for (const event of events) stream.offer(event);
      if (events.length < limit) stream.position = through;
    }
  }
}

/**
 * One subscriber's events as an async iterator. Live, it holds at most `buffer` undelivered events:
 * one more, and it ends with StreamEnded('overflow'). `return()` (the consumer went away) ends it at once.
 */
export class LiveStream implements AsyncIterableIterator<StreamItem> {
  /** Caught up: the feed hands it new events. */
  live = false;
  done = false;
  private readonly queue: StreamItem[] = [];
  private waiting: ((result: IteratorResult<StreamItem>) => void) | undefined;
  private roomWaiter: (() => void) | undefined;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly filter: StreamFilter,
    /** The last event of the team it has been offered. */
    public position: FeedPosition,
    private readonly buffer: number,
    /** The database when it opened: what had ended by then happened before it. */
    private readonly opened: Snapshot,
    /** The event it was opened after; null: opened for what commits from then on. */
    after: string | null = null,
  ) {
    this.fromNow = after === null;
    this.lastDelivered = after;
  }

  private readonly fromNow: boolean;
  /** Where its consumer resumes: the last event delivered, else the `after` it was opened with. */
  private lastDelivered: string | null;

  /** Calls `listener` once the stream has ended (at once if it has). */
  onClose(listener: () => void): void {
    if (this.done) listener();
    else this.closeListeners.push(listener);
  }

  get teamId(): string {
    return this.filter.teamId;
  }

  get apiKeyId(): string {
    return this.filter.apiKeyId;
  }

  /**
   * Takes the event if it is of this stream's team and comes after what it has been offered. A stream
   * opened without `after` takes only events of transactions that ended after it opened; any stream
   * ends when such an event revokes its key.
   */
  offer(event: ChangeEvent): void {
    if (this.done || event.teamId !== this.filter.teamId || !isAfter(event.position, this.position)) return;
    this.position = event.position;
    const before = endedBefore(this.opened, event.position.tx);
    if (!before && endsKey(event) === this.filter.apiKeyId) {
      this.end('revoked');
      return;
    }
    if (!this.filter.accepts(event) || (this.fromNow && before)) return;
    if (this.queue.length >= this.buffer) this.end('overflow');
    else this.enqueue(event);
  }

  /** Ends the stream: undelivered events are dropped, and a reason, when given, is its last item. */
  end(reason?: StreamEnded['reason']): void {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    for (const listener of this.closeListeners.splice(0)) listener();
    this.roomWaiter?.();
    if (reason) this.enqueue(new StreamEnded(reason, this.lastDelivered));
    else this.settle({ value: undefined, done: true });
  }

  room(): number {
    return this.buffer - this.queue.length;
  }

  roomFreed(): Promise<void> {
    return new Promise((resolve) => {
      this.roomWaiter = resolve;
    });
  }

  private enqueue(item: StreamItem): void {
    if (this.waiting) this.settle(this.delivered(item));
    else this.queue.push(item);
  }

  private delivered(item: StreamItem): IteratorResult<StreamItem> {
    if (!(item instanceof StreamEnded)) this.lastDelivered = item.id;
    return { value: item, done: false };
  }

  private settle(result: IteratorResult<StreamItem>): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(result);
  }

  next(): Promise<IteratorResult<StreamItem>> {
    const item = this.queue.shift();
    if (item) {
      const freed = this.roomWaiter;
      this.roomWaiter = undefined;
      freed?.();
      return Promise.resolve(this.delivered(item));
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<StreamItem>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
