import type { MikroORM } from '@mikro-orm/postgresql';
import { ForbiddenError, ValidationError } from '../../domain/errors.js';
import { type Actor, authorize } from '../../domain/scopes.js';
import { autocommit } from '../../platform/db/unit-of-work.js';
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

/** Live change events for the doors (the GraphQL subscription). */
export class EventService {
  private readonly streamsPerKey = new Map<string, number>();

  constructor(
    private readonly orm: MikroORM,
    readonly feed: ChangeFeed,
    private readonly options: { subscriptionsPerKey: number },
  ) {}

  /** The team's secret events, filtered, from `after` or from now. */
  async secretEvents(actor: Actor, query: SecretEventsQuery): Promise<LiveStream | null> {
    authorize(actor, query.teamId, 'secrets:read');
    const release = this.takeStreamSlot(actor.apiKeyId);
    try {
      const after = query.after ? await this.eventAfter(query.teamId, query.after) : null;
      const secretIds = query.secretIds?.length ? new Set(query.secretIds) : null;
      const types = query.types?.length ? new Set<string>(query.types) : null;
      const accepts = (event: ChangeEvent) =>
        event.resourceType === 'secret' &&
        (!secretIds || secretIds.has(event.resourceId)) &&
        (!types || types.has(event.type));
      const stream = await this.feed.open({ teamId: query.teamId, apiKeyId: actor.apiKeyId, accepts }, after);
      if (!stream) release();
      stream?.onClose(release);
      return stream;
    } catch (error) {
      release();
      throw error;
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
