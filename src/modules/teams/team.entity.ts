import { type InferEntity, p } from '@mikro-orm/core';
import { defineEntityWithCreatedAt } from '../../platform/db/columns.js';

export const Team = defineEntityWithCreatedAt('Team', 'teams', {
  id: p.uuid().primary(),
  name: p.string().length(255),
  plan: p.string().length(16).$type<'free' | 'pro'>(),
});
export type Team = InferEntity<typeof Team>;

export const User = defineEntityWithCreatedAt('User', 'users', {
  id: p.uuid().primary(),
  email: p.string().length(320).unique(),
});
export type User = InferEntity<typeof User>;

export const Membership = defineEntityWithCreatedAt('Membership', 'memberships', {
  teamId: p.uuid().primary(),
  userId: p.uuid().primary(),
  role: p.string().length(16).$type<'viewer' | 'operator' | 'admin' | 'owner'>(),
});
export type Membership = InferEntity<typeof Membership>;
