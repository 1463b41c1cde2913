import type { MikroORM } from '@mikro-orm/postgresql';
import { ForbiddenError, ValidationError } from '../../domain/errors.js';
import { type Actor, authorize, permits } from '../../domain/scopes.js';
import { autocommit } from '../../platform/db/unit-of-work.js';
import { describeError, type Logger } from '../../platform/logger.js';
import type { ChangeEvent, EventType } from './change-event.js';
import type { ChangeFeed, LiveStream } from './change-feed.js';
import { eventRepository } from './event.repository.js';

export interface SecretEventsQuery {
  teamId: string;
  secretIds?: readonly string[] | null;
  types?: readonly EventType[] | null;
  /** An event id of the team: the stream starts right after it. */
  after?: string | null;
}

/** The callers some API keys stand for now (uncached); a key that no longer authenticates is missing. */
export type CurrentActors = (apiKeyIds: readonly string[]) => Promise<Map<string, Actor>>;

/** Live change events for the doors (the GraphQL subscription). */
export class EventService {
  private readonly streamsPerKey = new Map<string, number>();
  private readonly streams = new Set<LiveStream>();
  private checking = false;

  constructor(
    private readonly orm: MikroORM,
    readonly feed: ChangeFeed,
    private readonly currentActors: CurrentActors,
    private readonly logger: Logger,
    private readonly options: { subscriptionsPerKey: number },
  ) {
    feed.onWake((poll) => {
      if (poll) void this.checkKeys();
    });
  }

  /**
   * The team's secret events, filtered, from `after` or from now; null when the server is stopping or
   * the client left before the stream opened. `caller.signal` aborts when the client goes away (the
   * stream then ends, perhaps before it was handed to the client); `caller.current()` authenticates
   * the request's key again without a cache, once the stream has opened: a rotation or revocation
   * committed before then is no event of the stream.
   */
  async secretEvents(
    actor: Actor,
    query: SecretEventsQuery,
    caller: { signal: AbortSignal; current(): Promise<Actor> },
  ): Promise<LiveStream | null> {
    authorize(actor, query.teamId, 'secrets:read');
    const release = this.takeStreamSlot(actor.apiKeyId);
    let stream: LiveStream | null = null;
    try {
      const after = query.after ? await this.eventAfter(query.teamId, query.after) : null;
      const secretIds = query.secretIds?.length ? new Set(query.secretIds) : null;
      const types = query.types?.length ? new Set<string>(query.types) : null;
      const accepts = (event: ChangeEvent) =>
        event.resourceType === 'secret' &&
        (!secretIds || secretIds.has(event.resourceId)) &&
        (!types || types.has(event.type));
      stream = await this.feed.open(
        { teamId: query.teamId, apiKeyId: actor.apiKeyId, accepts },
        after,
        caller.signal,
      );
      if (!stream) {
        release();
        return null;
      }
      const opened = stream;
      opened.onClose(release);
      this.streams.add(opened);
      opened.onClose(() => this.streams.delete(opened));
      const { signal } = caller;
      const end = () => opened.end();
      signal.addEventListener('abort', end, { once: true });
      opened.onClose(() => signal.removeEventListener('abort', end));
      if (signal.aborted) end();
      authorize(await caller.current(), query.teamId, 'secrets:read');
      return opened;
    } catch (error) {
      stream?.end();
      release();
      throw error;
    }
  }

  /**
   * Ends the open streams whose key no longer authenticates (expired; revoked or deleted where no
   * event said so: on another server before the stream opened) or whose key's creator may no longer
   * read the team's secrets. Runs with the feed's poll.
   */
  private async checkKeys(): Promise<void> {
    if (this.checking || this.streams.size === 0) return;
    this.checking = true;
    try {
      const streams = [...this.streams];
      const actors = await this.currentActors([...new Set(streams.map((s) => s.apiKeyId))]);
      for (const stream of streams) {
        const actor = actors.get(stream.apiKeyId);
        if (!actor) stream.end('revoked');
        else if (!permits(actor, stream.teamId, 'secrets:read')) stream.end('forbidden');
      }
    } catch (error) {
      this.logger.warn(
        { error: describeError(error) },
        'change events: checking the keys of open streams failed',
      );
    } finally {
      this.checking = false;
    }
  }

  /** One of the key's open-stream slots, taken before anything is awaited; the function gives it back. */
  private takeStreamSlot(apiKeyId: string): () => void {
    const open = this.streamsPerKey.get(apiKeyId) ?? 0;
    if (open >= this.options.subscriptionsPerKey) {
      throw new ForbiddenError(
        `Subscription limit reached: this API key already has ${open} open subscriptions on this server, the most it may have`,
      );
    }
    this.streamsPerKey.set(apiKeyId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.streamsPerKey.get(apiKeyId) ?? 1) - 1;
      if (left) this.streamsPerKey.set(apiKeyId, left);
      else this.streamsPerKey.delete(apiKeyId);
    };
  }

  private async eventAfter(teamId: string, eventId: string) {
    const position = await eventRepository.positionOf(autocommit(this.orm), teamId, eventId);
    if (!position) throw ValidationError.single(['after'], 'No event of this team has this id', 'not_found');
    return { id: eventId, position };
  }
}

declare module '../../platform/services.js' {
  interface Services {
    events: EventService;
  }
}
