import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { timestamp } from '../../platform/db/columns.js';
import type { EventType } from '../events/change-event.js';

export const Webhook = defineEntity({
  name: 'Webhook',
  tableName: 'webhooks',
  properties: {
    id: p.uuid().primary(),
    teamId: p.uuid(),
    name: p.string().length(255),
    description: p.text().nullable(),
    url: p.string().length(2048),
    /** Empty: every event type. */
    eventTypes: p.array().$type<EventType[]>(),
    /** The HMAC key deliveries are signed with; shown to the team once, at creation. */
    signingSecret: p.string().length(128).lazy(),
    active: p.boolean(),
    createdAt: timestamp(),
    createdBy: p.uuid(),
    updatedAt: timestamp(),
    updatedBy: p.uuid(),
  },
});
export type Webhook = InferEntity<typeof Webhook>;
