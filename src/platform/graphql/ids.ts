import { z } from 'zod';
import { UUID_PATTERN } from '../../shared/validation.js';

/** An id argument's check (with `validate`): a UUID, any case, else the REST shim's `uuid_parsing`. */
export const uuidArg = z.string().refine((v) => UUID_PATTERN.test(v), {
  message: 'Input should be a valid UUID',
  params: { code: 'uuid_parsing' },
});

export const TEAM_ID_DESCRIPTION =
  "The team (a UUID). It must be the API key's own team: any other reads as not found.";

/** An id argument `uuidArg` has validated, as the services take it (lower case). */
export function validatedId(id: string | number): string {
  return String(id).toLowerCase();
}
