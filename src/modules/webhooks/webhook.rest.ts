import { z } from 'zod';
import { camelKeys, descriptionSchema, nameSchema, patchOf } from '../../domain/names.js';
import { NAMED_RESOURCE_SORTS, restListQuery } from '../../domain/paging.js';
import { parseOrThrow } from '../../domain/validation.js';
import { listRoute, teamResource } from '../../platform/http/resource-routes.js';
import { idSchema, namedResourceResponseSchema, timestampSchema } from '../../platform/http/rest-docs.js';
import type { Route } from '../../platform/http/rest-router.js';
import { restView, viewOf } from '../../platform/http/rest-views.js';
import type { Services } from '../../platform/services.js';
import { EVENT_TYPES } from '../events/change-event.js';
import type { CreatedWebhook } from './webhook.repository.js';
import {
  type CreateWebhookCommand,
  DELIVERY_HEADERS,
  eventTypesSchema,
  type UpdateWebhookCommand,
  webhookUrlSchema,
} from './webhook.rules.js';

const EVENT_TYPES_DESCRIPTION = `The event types to deliver (${EVENT_TYPES.join(', ')}); empty: all.`;

export const createWebhookSchema = z.strictObject({
  name: nameSchema,
  description: descriptionSchema.nullish(),
  url: webhookUrlSchema.meta({ description: 'Where to POST events: https, a public address.' }),
  event_types: eventTypesSchema.nullish().meta({ description: EVENT_TYPES_DESCRIPTION }),
  active: z.boolean().nullish().meta({ description: 'false: nothing is delivered. Default true.' }),
});

/** PATCH body. Omitted or null means unchanged, except `description`, where null clears. */
export const updateWebhookSchema = z.strictObject({
  name: nameSchema.nullish(),
  description: descriptionSchema.nullish(),
  url: webhookUrlSchema.nullish(),
  event_types: eventTypesSchema.nullish().meta({ description: EVENT_TYPES_DESCRIPTION }),
  active: z.boolean().nullish(),
});

export function createWebhookCommand(body: unknown): CreateWebhookCommand {
  return camelKeys(parseOrThrow(createWebhookSchema, body));
}

export function updateWebhookCommand(body: unknown): UpdateWebhookCommand {
  return patchOf(parseOrThrow(updateWebhookSchema, body), ['description']);
}

export const webhookResponseSchema = namedResourceResponseSchema('WebhookResponse', {
  url: z.string(),
  event_types: z.array(z.enum(EVENT_TYPES)).meta({ description: 'Empty: all event types.' }),
  active: z.boolean(),
});

export const webhookResponse = restView(webhookResponseSchema);

export const createdWebhookResponseSchema = webhookResponseSchema
  .extend({
    signing_secret: z.string().meta({
      description: `The key of the \`${DELIVERY_HEADERS.signature}\` HMAC: shown this once, never returned again. Store it with the receiver.`,
    }),
  })
  .meta({ id: 'CreatedWebhookResponse' });

/** The create response: the one place where `signing_secret` appears. */
const createdWebhookResponse = viewOf(createdWebhookResponseSchema, (created: CreatedWebhook) => ({
  ...webhookResponse(created.webhook),
  signing_secret: created.signingSecret,
}));

export const deliveryResponseSchema = z
  .object({
    id: idSchema,
    event_id: idSchema,
    event_type: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z
      .string()
      .nullable()
      .meta({ description: "Why the last attempt failed (never the receiver's answer)." }),
    next_attempt_at: timestampSchema.nullable(),
    created_at: timestampSchema,
    delivered_at: timestampSchema.nullable(),
  })
  .meta({ id: 'WebhookDeliveryResponse' });

const deliveryResponse = restView(deliveryResponseSchema);

const LIST_QUERY = restListQuery(NAMED_RESOURCE_SORTS, 'created_at', {});
const DELIVERIES_QUERY = restListQuery(['created_at'], 'created_at', {}, { search: false });
const WEBHOOKS = teamResource('/v1/teams/:team_id/webhooks/:webhook_id', 'webhook', { uniqueNames: true });

/** REST routes for webhooks: thin translations to the shared service. */
export function webhookRoutes({ webhooks }: Services): Route[] {
  return [
    WEBHOOKS.create({
      description: `Events of the team are POSTed to \`url\` as they commit, signed with \`${DELIVERY_HEADERS.signature}\` (see the README). The team's plan caps the number of webhooks.`,
      body: createWebhookSchema,
      response: 'The webhook, with `signing_secret` shown this once.',
      service: webhooks,
      command: createWebhookCommand,
      view: createdWebhookResponse,
      oneTimeSecret: true,
    }),
    WEBHOOKS.list({ query: LIST_QUERY, service: webhooks, view: webhookResponse }),
    WEBHOOKS.get({
      response: 'The webhook (never its signing secret).',
      service: webhooks,
      view: webhookResponse,
    }),
    WEBHOOKS.update({
      description: 'Omitted or null means unchanged, except `description`, where null clears.',
      body: updateWebhookSchema,
      response: 'The webhook after the change.',
      run: ({ actor, meta, body }, ids) => webhooks.update(actor, meta, ids, updateWebhookCommand(body)),
      view: webhookResponse,
    }),
    WEBHOOKS.delete({
      description: 'Its pending deliveries and delivery log go with it.',
      delete: ({ actor, meta }, ids) => webhooks.delete(actor, meta, ids),
    }),
    listRoute({
      path: '/v1/teams/:team_id/webhooks/:webhook_id/deliveries',
      doc: {
        operationId: 'listWebhookDeliveries',
        summary: "List a webhook's deliveries",
        description:
          'One per event sent to the webhook: its status, attempts and last error. Newest first by default.',
        tags: WEBHOOKS.tags,
        scope: 'webhooks:read',
      },
      query: DELIVERIES_QUERY,
      page: 'A page of deliveries.',
      list: ({ actor, params }, { list }) => webhooks.deliveries(actor, WEBHOOKS.ids(params), list),
      view: deliveryResponse,
    }),
  ];
}
