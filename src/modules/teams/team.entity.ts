import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { timestamp } from '../../platform/db/columns.js';

export const Team = defineEntity({
  name: 'Team',
  tableName: 'teams',
  properties: {
    id: p.uuid().primary(),
    name: p.string().length(255),
    plan: p.string().length(16).$type<'free' | 'pro'>(),
    createdAt: timestamp(),
  },
});
export type Team = InferEntity<typeof Team>;

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary(),
    email: p.string().length(320).unique(),
    createdAt: timestamp(),
  },
});
export type User = InferEntity<typeof User>;

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  properties: {
    teamId: p.uuid().primary(),
    userId: p.uuid().primary(),
    role: p.string().length(16).$type<'viewer' | 'operator' | 'admin' | 'owner'>(),
    createdAt: timestamp(),
  },
});
export type Membership = InferEntity<typeof Membership>;
