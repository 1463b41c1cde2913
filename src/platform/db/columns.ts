import { p } from '@mikro-orm/core';

/** Every timestamp column: timestamptz with millisecond precision (what JavaScript dates hold). */
export const timestamp = () => p.datetime().columnType('timestamptz(3)');

/** A new row's authorship: created and last changed by `userId`, now. */
export function authoredBy(userId: string) {
  const now = new Date();
  return { createdAt: now, createdBy: userId, updatedAt: now, updatedBy: userId };
}

/** A changed row's last-change columns: by `userId`, now. */
export function changedBy(userId: string) {
  return { updatedAt: new Date(), updatedBy: userId };
}
