import { type InferEntity, p } from '@mikro-orm/core';
import { defineNamedResource } from '../../platform/db/columns.js';
import type { EventType } from '../events/change-event.js';

export const Webhook = defineNamedResource('Webhook', 'webhooks', {
  url: p.string().length(2048),
  /** Empty: every event type. */
  eventTypes: p.array().$type<EventType[]>(),
  /** The HMAC key deliveries are signed with; shown to the team once, at creation. */
  signingSecret: p.string().length(128).lazy(),
  active: p.boolean(),
});
export type Webhook = InferEntity<typeof Webhook>;
