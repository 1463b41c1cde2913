import { z } from 'zod';
import { nameSearchSchema } from '../../domain/paging.js';
import { builder } from '../../platform/graphql/builder.js';
import { connectionOf, SortOrderEnum } from '../../platform/graphql/connection.js';
import { describedValues, valuesOf } from '../../platform/graphql/enums.js';
import { uuidArg, validatedId } from '../../platform/graphql/ids.js';
import { listArgs, listConnection, listQuery } from '../../platform/graphql/lists.js';
import { actorType } from './audit.rest.js';
import { AUDIT_RESOURCE_TYPES, type AuditEventView, type AuditResourceType } from './audit.service.js';

const AUDIT_RESOURCE_DESCRIPTIONS: Record<AuditResourceType, string> = {
  secret: 'A secret.',
  location: 'A location.',
  vault_connection: 'A vault connection.',
  api_key: 'An API key.',
  webhook: 'A webhook.',
};

const AuditResourceTypeEnum = builder.enumType('AuditResourceType', {
  description: 'The kind of resource an audit event is about.',
  values: valuesOf(AUDIT_RESOURCE_TYPES, (r) => AUDIT_RESOURCE_DESCRIPTIONS[r]),
});

const AuditActorTypeEnum = builder.enumType('AuditActorType', {
  description: 'What kind of actor made a change.',
  values: describedValues({
    api_key: 'A request made with an API key (on behalf of its member).',
    user: 'A user, with no API key on record for the change.',
    system: 'The service itself; no request facts.',
  }),
});

export const AuditActorRef = builder
  .objectRef<Pick<AuditEventView, 'actorUserId' | 'actorApiKeyId'>>('AuditActor')
  .implement({
    description: 'Who made the change.',
    fields: (t) => ({
      type: t.field({
        type: AuditActorTypeEnum,
        description: 'What kind of actor.',
        resolve: (e) => actorType(e),
      }),
      userId: t.id({
        nullable: true,
        description: 'The user (for an API key: the member it acts for); null for SYSTEM.',
        resolve: (e) => e.actorUserId ?? null,
      }),
      apiKeyId: t.id({
        nullable: true,
        description: 'The API key used; null unless type is API_KEY.',
        resolve: (e) => e.actorApiKeyId ?? null,
      }),
    }),
  });

/** The facts of the request a change came with (fields, with the property each reads); null without one. */
const REQUEST_FACTS: Record<string, [property: 'ip' | 'userAgent' | 'requestId', description: string]> = {
  ipAddress: ['ip', "The client's IP address; null without a request."],
  userAgent: ['userAgent', "The request's User-Agent; null when none was sent."],
  requestId: ['requestId', "The request's x-request-id."],
};

export const AuditEventRef = builder.objectRef<AuditEventView>('AuditEvent').implement({
  description: 'One change to a resource of the team. The log is append-only.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The event id (a UUID).' }),
    eventType: t.exposeString('eventType', { description: '`<resource>_<verb>`, e.g. secret_updated.' }),
    resourceType: t.field({
      type: AuditResourceTypeEnum,
      description: 'The kind of resource changed.',
      resolve: (e) => e.resourceType as AuditResourceType,
    }),
    resourceId: t.exposeID('resourceId', {
      description: 'The id of the resource changed (it may since be deleted).',
    }),
    resourceName: t.exposeString('resourceName', { description: 'The name at the time of the event.' }),
    actor: t.field({ type: AuditActorRef, description: 'Who made the change.', resolve: (e) => e }),
    changedFields: t.exposeStringList('changedFields', {
      description: 'Names of the fields the change set (REST names), never their values.',
    }),
    ...Object.fromEntries(
      Object.entries(REQUEST_FACTS).map(([field, [property, description]]) => [
        field,
        t.exposeString(property, { nullable: true, description }),
      ]),
    ),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the change was made.' }),
  }),
});

const AuditEventConnection = connectionOf('AuditEvent', AuditEventRef);

const optionalId = uuidArg.nullish();

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  description: 'Narrows the log; every given condition must hold.',
  fields: (t) => ({
    resourceType: t.field({
      type: AuditResourceTypeEnum,
      description: 'Only events about this kind of resource.',
    }),
    resourceId: t.id({ validate: optionalId, description: 'Only events about this resource.' }),
    actorUserId: t.id({ validate: optionalId, description: 'Only changes made by (or for) this user.' }),
    actorApiKeyId: t.id({ validate: optionalId, description: 'Only changes made with this API key.' }),
    eventType: t.string({
      validate: z.string().min(1).max(64).nullish(),
      description: 'Only this event type, e.g. secret_updated.',
    }),
    q: t.string({
      validate: nameSearchSchema.nullish(),
      description: 'Case-insensitive substring of the resource name.',
    }),
    from: t.field({ type: 'DateTime', description: 'Events at or after this instant.' }),
    to: t.field({ type: 'DateTime', description: 'Events before this instant.' }),
  }),
});

const idOf = (value: string | number | null | undefined) => (value == null ? undefined : validatedId(value));

builder.queryField('auditEvents', (t) =>
  t.field({
    type: AuditEventConnection,
    description:
      "The team's audit log, newest first unless `sortOrder` says otherwise. Needs audit:read. Another team's id is a NOT_FOUND error.",
    args: {
      ...listArgs(t.arg),
      filter: t.arg({ type: AuditEventFilter, description: 'Omitted: the whole log of the team.' }),
      sortOrder: t.arg({ type: SortOrderEnum, description: 'By creation time; default DESC.' }),
    },
    resolve: (_, { filter, ...args }, ctx, info) =>
      listConnection(ctx, info, args, ctx.services.audit, (page) => ({
        ...listQuery(page, { field: 'created_at', direction: args.sortOrder }, filter?.q),
        resourceType: filter?.resourceType ?? undefined,
        resourceId: idOf(filter?.resourceId),
        actorUserId: idOf(filter?.actorUserId),
        actorApiKeyId: idOf(filter?.actorApiKeyId),
        eventType: filter?.eventType ?? undefined,
        from: filter?.from ?? undefined,
        to: filter?.to ?? undefined,
      })),
  }),
);
