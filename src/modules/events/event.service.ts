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
    const open = this.streamsPerKey.get(actor.apiKeyId) ?? 0;
    if (open >= this.options.subscriptionsPerKey) {
      throw new ForbiddenError(
        `Subscription limit reached: this API key already has ${open} open subscriptions on this server, the most it may have`,
      );
    }
    const after = query.after
      ? await eventRepository.positionOf(autocommit(this.orm), query.teamId, query.after)
      : null;
    if (query.after && !after)
      throw ValidationError.single(['after'], 'No event of this team has this id', 'not_found');
    const secretIds = query.secretIds?.length ? new Set(query.secretIds) : null;
    const types = query.types?.length ? new Set<string>(query.types) : null;
    const accepts = (event: ChangeEvent) =>
      event.resourceType === 'secret' &&
      (!secretIds || secretIds.has(event.resourceId)) &&
      (!types || types.has(event.type));
    this.streamsPerKey.set(actor.apiKeyId, open + 1);
    const release = () => {
      const left = (this.streamsPerKey.get(actor.apiKeyId) ?? 1) - 1;
      if (left) this.streamsPerKey.set(actor.apiKeyId, left);
      else this.streamsPerKey.delete(actor.apiKeyId);
    };
    const stream = await this.feed.open({ teamId: query.teamId, accepts }, after).catch((error) => {
      release();
      throw error;
    });
    if (!stream) release();
    stream?.onClose(release);
    return stream;
  }
}

declare module '../../platform/services.js' {
  interface Services {
    events: EventService;
  }
}
