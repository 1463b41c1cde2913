import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { builder } from '../../platform/graphql/builder.js';
import { translate } from '../../platform/graphql/error-types.js';
import { teamIdArg, uuidArg, validatedId } from '../../platform/graphql/ids.js';
import { AuditActorRef } from '../audit/audit.graphql.js';
import type { ChangeEvent, EventType } from './change-event.js';
import { StreamEnded, type StreamItem } from './change-feed.js';

const SECRET_EVENT_TYPES: Record<string, { value: EventType; description: string }> = {
  CREATED: { value: 'secret.created', description: 'The secret was created.' },
  UPDATED: {
    value: 'secret.updated',
    description: 'Its name, description, type or auth method changed, not its value.',
  },
  ROTATED: {
    value: 'secret.rotated',
    description: 'Its value changed: new credentials, or new vault references (field mappings).',
  },
  ROLLED_BACK: {
    value: 'secret.rolled_back',
    description: 'Its value was restored from an earlier version.',
  },
  DELETED: { value: 'secret.deleted', description: 'The secret was deleted.' },
};

const SecretEventTypeEnum = builder.enumType('SecretEventType', {
  description: 'What happened to a secret.',
  values: SECRET_EVENT_TYPES,
});

const SecretEventRef = builder.objectRef<ChangeEvent>('SecretEvent').implement({
  description: 'A committed change to a secret: which fields changed, never their values.',
  fields: (t) => ({
    id: t.exposeID('id', {
      description: 'The event id (the audit event of the change). Pass it as `after` to resume after it.',
    }),
    type: t.field({ type: SecretEventTypeEnum, description: 'What happened.', resolve: (e) => e.type }),
    secretId: t.exposeID('resourceId', { description: 'The secret (it may since be deleted).' }),
    secretName: t.exposeString('resourceName', { description: 'Its name after the change.' }),
    version: t.exposeInt('version', {
      nullable: true,
      description: 'Its version after the change (for a deletion: the version deleted).',
    }),
    changedFields: t.exposeStringList('changedFields', {
      description: 'Names of the fields the change set (REST names), never their values.',
    }),
    actor: t.field({ type: AuditActorRef, description: 'Who made the change.', resolve: (e) => e }),
    occurredAt: t.expose('occurredAt', {
      type: 'DateTime',
      description: 'When the change was made (recorded just before it committed).',
    }),
  }),
});

builder.subscriptionType({
  description:
    'Live streams, over Server-Sent Events (`Accept: text/event-stream`). Every field needs `Authorization: Bearer <api key>`.',
});

/** How a stream the server ended says so: its last result, a GraphQL error. */
const STREAM_ENDINGS: Record<StreamEnded['reason'], { code: string; message: string }> = {
  overflow: {
    code: 'SUBSCRIBER_TOO_SLOW',
    message:
      'The subscriber fell behind (too many undelivered events): resubscribe with `after` set to extensions.lastEventId',
  },
  shutdown: {
    code: 'SERVER_SHUTTING_DOWN',
    message: 'The server is shutting down: resubscribe with `after` set to extensions.lastEventId',
  },
  revoked: {
    code: 'UNAUTHENTICATED',
    message: 'The API key of this subscription was revoked, rotated or deleted, or has expired',
  },
  forbidden: {
    code: 'FORBIDDEN',
    message: "The API key of this subscription may no longer read the team's secrets",
  },
};

function streamEndedError(end: StreamEnded): GraphQLError {
  const { code, message } = STREAM_ENDINGS[end.reason];
  return new GraphQLError(message, { extensions: { code, lastEventId: end.lastEventId } });
}

builder.subscriptionField('secretEvents', (t) =>
  t.field({
    type: SecretEventRef,
    description:
      "The team's secret events as they commit (needs secrets:read). With `after`, first every event since that one (none is missed, none repeated), then live. A subscriber that falls too far behind gets an error with `extensions.lastEventId` to resume from.",
    args: {
      teamId: teamIdArg(t.arg),
      secretIds: t.arg.idList({
        description: 'Only these secrets (UUIDs); all when omitted.',
        validate: z.array(uuidArg).max(100),
      }),
      types: t.arg({
        type: [SecretEventTypeEnum],
        description: 'Only these kinds of event; all when omitted.',
      }),
      after: t.arg.id({
        description: 'Resume after this event id (from an earlier event, or an error’s lastEventId).',
        validate: uuidArg,
      }),
    },
    subscribe: async (_, args, ctx) => {
      const actor = await ctx.actor();
      const stream = await translate(
        () =>
          ctx.services.events.secretEvents(
            actor,
            {
              teamId: validatedId(args.teamId),
              secretIds: args.secretIds?.map(validatedId),
              types: args.types,
              after: args.after ? validatedId(args.after) : null,
            },
            { signal: ctx.signal, current: ctx.currentActor },
          ),
        (path) => path.map(String),
      );
      // No stream: the server is stopping (or the client has left): resume where it asked to start.
      if (!stream)
        throw streamEndedError(new StreamEnded('shutdown', args.after ? validatedId(args.after) : null));
      return stream;
    },
    resolve: (item: StreamItem) => {
      if (item instanceof StreamEnded) throw streamEndedError(item);
      return item;
    },
  }),
);
