import { z } from 'zod';
import { actorType } from '../audit/audit-rest.js';
import { AUDIT_RESOURCE_TYPES, type AuditResourceType } from '../audit/audit-service.js';
import type { AuditEvent } from '../entities/index.js';
import { builder } from './builder.js';
import { connectionOf, pageArgs, SortOrderEnum } from './connection.js';
import { argumentPath, translate } from './error-types.js';
import { uuidArg } from './secret-schema.js';

const AuditResourceTypeEnum = builder.enumType('AuditResourceType', {
  values: Object.fromEntries(AUDIT_RESOURCE_TYPES.map((r) => [r.toUpperCase(), { value: r }])) as Record<
    string,
    { value: AuditResourceType }
  >,
});

const AuditActorTypeEnum = builder.enumType('AuditActorType', {
  values: {
    API_KEY: { value: 'api_key', description: 'A request made with an API key (on behalf of its member).' },
    USER: { value: 'user' },
    SYSTEM: { value: 'system', description: 'The service itself; no request facts.' },
  } as const,
});

const AuditActorRef = builder.objectRef<AuditEvent>('AuditActor').implement({
  description: 'Who made the change.',
  fields: (t) => ({
    type: t.field({ type: AuditActorTypeEnum, resolve: (e) => actorType(e) }),
    userId: t.id({ nullable: true, resolve: (e) => e.actorUserId ?? null }),
    apiKeyId: t.id({ nullable: true, resolve: (e) => e.actorApiKeyId ?? null }),
  }),
});

export const AuditEventRef = builder.objectRef<AuditEvent>('AuditEvent').implement({
  description: 'One change to a resource of the team. The log is append-only.',
  fields: (t) => ({
    id: t.exposeID('id'),
    eventType: t.exposeString('eventType', { description: '`<resource>_<verb>`, e.g. secret_updated.' }),
    resourceType: t.field({
      type: AuditResourceTypeEnum,
      resolve: (e) => e.resourceType as AuditResourceType,
    }),
    resourceId: t.exposeID('resourceId'),
    resourceName: t.exposeString('resourceName', { description: 'The name at the time of the event.' }),
    actor: t.field({ type: AuditActorRef, resolve: (e) => e }),
    changedFields: t.exposeStringList('changedFields', {
      description: 'Names of the fields the change set (REST names), never their values.',
    }),
    ipAddress: t.string({ nullable: true, resolve: (e) => e.ip ?? null }),
    userAgent: t.string({ nullable: true, resolve: (e) => e.userAgent ?? null }),
    requestId: t.string({
      nullable: true,
      description: "The request's x-request-id.",
      resolve: (e) => e.requestId ?? null,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
  }),
});

const AuditEventConnection = connectionOf('AuditEvent', AuditEventRef);

const optionalId = uuidArg.nullish();

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  fields: (t) => ({
    resourceType: t.field({ type: AuditResourceTypeEnum }),
    resourceId: t.id({ validate: optionalId }),
    actorUserId: t.id({ validate: optionalId }),
    actorApiKeyId: t.id({ validate: optionalId }),
    eventType: t.string({ validate: z.string().min(1).max(64).nullish() }),
    q: t.string({
      validate: z.string().max(255).nullish(),
      description: 'Case-insensitive substring of the resource name.',
    }),
    from: t.field({ type: 'DateTime', description: 'Events at or after this instant.' }),
    to: t.field({ type: 'DateTime', description: 'Events before this instant.' }),
  }),
});

const idOf = (value: string | number | null | undefined) =>
  value == null ? undefined : String(value).toLowerCase();

builder.queryField('auditEvents', (t) =>
  t.field({
    type: AuditEventConnection,
    description:
      "The team's audit log, newest first unless `sortOrder` says otherwise. Needs audit:read. Another team's id is a NOT_FOUND error.",
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg }),
      first: t.arg.int({ description: '1–100, default 50.' }),
      after: t.arg.string(),
      filter: t.arg({ type: AuditEventFilter }),
      sortOrder: t.arg({ type: SortOrderEnum, description: 'By creation time; default DESC.' }),
    },
    resolve: async (_, args, ctx) => {
      const actor = await ctx.actor();
      const filter = args.filter;
      return translate(async () => {
        const { offset, limit } = pageArgs(args);
        const page = await ctx.services.audit.list(
          actor,
          String(args.teamId),
          { offset, limit, sortOrder: args.sortOrder ?? 'desc', q: filter?.q || undefined },
          {
            resourceType: filter?.resourceType ?? undefined,
            resourceId: idOf(filter?.resourceId),
            actorUserId: idOf(filter?.actorUserId),
            actorApiKeyId: idOf(filter?.actorApiKeyId),
            eventType: filter?.eventType ?? undefined,
            from: filter?.from ?? undefined,
            to: filter?.to ?? undefined,
          },
        );
        return { ...page, offset };
      }, argumentPath);
    },
  }),
);
