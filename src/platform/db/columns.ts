import { p } from '@mikro-orm/core';

/** Every timestamp column: timestamptz with millisecond precision (what JavaScript dates hold). */
export const timestamp = () => p.datetime().columnType('timestamptz(3)');
