import type { ListQuery } from '../../domain/paging.js';
import { builder } from '../../platform/graphql/builder.js';
import { connectionOf } from '../../platform/graphql/connection.js';
import { describedValues, valuesOf } from '../../platform/graphql/enums.js';
import { directResult } from '../../platform/graphql/error-types.js';
import { ONE_TIME_SECRET_NOTE } from '../../platform/graphql/idempotency.js';
import { lookupField, resourceIdArg, resourceIds } from '../../platform/graphql/ids.js';
import { listArgs, listConnection, listField, listQuery } from '../../platform/graphql/lists.js';
import { createField, deleteField, patchField } from '../../platform/graphql/mutations.js';
import {
  namedCreateInput,
  namedPatchInput,
  namedResourceType,
} from '../../platform/graphql/resource-fields.js';
import type { TeamList } from '../../platform/team-resource-service.js';
import { EVENT_TYPES } from '../events/change-event.js';
import type { CreatedWebhook, DeliveryView, WebhookView } from './webhook.repository.js';
import { DELIVERY_HEADERS, eventTypesSchema } from './webhook.rules.js';

/** `secret.rotated` as the GraphQL enum value SECRET_ROTATED. */
const EventTypeEnum = builder.enumType('EventType', {
  description:
    'A kind of change event, as webhooks deliver it in `type` (e.g. SECRET_ROTATED is `secret.rotated`).',
  values: valuesOf(EVENT_TYPES, (type) => `\`${type}\``),
});

const DeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description: 'Where a delivery stands.',
  values: describedValues({
    pending: 'Not delivered yet: tried again at nextAttemptAt.',
    delivered: 'The receiver answered 2xx.',
    failed: 'Given up after the last attempt.',
  }),
});

const WebhookRef = namedResourceType<WebhookView>('Webhook', {
  description: `An endpoint the team's change events are POSTed to, signed with ${DELIVERY_HEADERS.signature}. Its signing secret is shown once, by createWebhook.`,
  resource: 'webhook',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Where events are POSTed.' }),
    eventTypes: t.field({
      type: [EventTypeEnum],
      description: 'The event types delivered; empty: all.',
      resolve: (w) => w.eventTypes,
    }),
    active: t.exposeBoolean('active', { description: 'false: nothing is delivered.' }),
  }),
});

const WebhookDeliveryRef = builder.objectRef<DeliveryView>('WebhookDelivery').implement({
  description: "One event's delivery to a webhook: its outcome so far (never the receiver's answer).",
  fields: (t) => ({
    id: t.exposeID('id', { description: `The delivery id, sent as ${DELIVERY_HEADERS.deliveryId}.` }),
    eventId: t.exposeID('eventId', {
      description: `The event, sent as ${DELIVERY_HEADERS.eventId}: the receiver’s idempotency key.`,
    }),
    eventType: t.exposeString('eventType', { description: 'The event type, e.g. `secret.rotated`.' }),
    status: t.field({ type: DeliveryStatusEnum, description: 'Where it stands.', resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far.' }),
    lastStatusCode: t.exposeInt('lastStatusCode', {
      nullable: true,
      description: 'The HTTP status of the last answer; null when none came.',
    }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last attempt failed.' }),
    nextAttemptAt: t.expose('nextAttemptAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it is tried next; null once delivered or given up.',
    }),
    createdAt: t.expose('createdAt', {
      type: 'DateTime',
      description: 'When the event was queued for the webhook.',
    }),
    deliveredAt: t.expose('deliveredAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was delivered.',
    }),
  }),
});

const WebhookDeliveryConnection = connectionOf('WebhookDelivery', WebhookDeliveryRef);

const CreateWebhookInput = namedCreateInput('CreateWebhookInput', {
  description: 'A new webhook.',
  fields: (t) => ({
    url: t.string({
      required: true,
      description: 'Where to POST events: https, at a public address (unless the operator allows otherwise).',
    }),
    eventTypes: t.field({
      type: [EventTypeEnum],
      validate: eventTypesSchema.nullish(),
      description: 'The event types to deliver; omitted or empty: all.',
    }),
    active: t.boolean({ description: 'Default true.' }),
  }),
});

const UpdateWebhookInput = namedPatchInput('UpdateWebhookInput', {
  description: 'A partial update: only the fields sent change.',
  fields: (t) => ({
    url: t.string({ description: 'Omitted or null: unchanged.' }),
    eventTypes: t.field({
      type: [EventTypeEnum],
      validate: eventTypesSchema.nullish(),
      description: 'Omitted or null: unchanged; empty: all.',
    }),
    active: t.boolean({ description: 'Omitted or null: unchanged.' }),
  }),
});

const CreateWebhookSuccess = builder.objectRef<CreatedWebhook>('CreateWebhookSuccess').implement({
  description: 'The webhook was created; its signing secret is in `signingSecret`, this once.',
  fields: (t) => ({
    webhook: t.field({ type: WebhookRef, description: 'The new webhook.', resolve: (r) => r.webhook }),
    signingSecret: t.exposeString('signingSecret', {
      description: `The key of the ${DELIVERY_HEADERS.signature} HMAC. Shown only here: store it with the receiver now.`,
    }),
  }),
});

lookupField('webhook', WebhookRef, ['webhook', 'webhookId'], (ctx) => ctx.services.webhooks);

listField('webhooks', { type: WebhookRef, list: (ctx) => ctx.services.webhooks });

builder.queryField('webhookDeliveries', (t) =>
  t.field({
    type: WebhookDeliveryConnection,
    description: "A webhook's delivery log, newest first. Needs webhooks:read.",
    args: { ...listArgs(t.arg), webhookId: resourceIdArg(t.arg, 'webhook') },
    resolve: (_, args, ctx, info) => {
      const ids = resourceIds(args, 'webhookId');
      const log: TeamList<ListQuery<'created_at'>, DeliveryView> = {
        list: (actor, _teamId, query) => ctx.services.webhooks.deliveries(actor, ids, query),
      };
      return listConnection(ctx, info, args, log, (page) => listQuery<'created_at'>(page, null, null));
    },
  }),
);

createField('createWebhook', {
  type: CreateWebhookSuccess,
  what: "Creates a webhook; the team's change events are POSTed to it from now on.",
  also: "; counts toward the plan's webhook limit.",
  input: CreateWebhookInput,
  idempotencyNote: ONE_TIME_SECRET_NOTE,
  errors: directResult(
    'CreateWebhook',
    'The new webhook (its signing secret shown once), or why nothing was created.',
  ),
  create: (ctx, actor, teamId, input) => ctx.services.webhooks.create(actor, ctx.meta, teamId, input),
});

patchField('updateWebhook', {
  type: WebhookRef,
  what: 'Changes a webhook’s name, description, URL, event types or whether it is active.',
  input: UpdateWebhookInput,
  clearable: ['description'],
  apply: (ctx, actor, ids, patch) => ctx.services.webhooks.update(actor, ctx.meta, ids, patch),
});

deleteField('deleteWebhook', {
  what: 'Deletes a webhook with its pending deliveries and log.',
  remove: (ctx, actor, ids) => ctx.services.webhooks.delete(actor, ctx.meta, ids),
});
