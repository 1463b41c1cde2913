import { z } from 'zod';

export const NAME_MAX = 255;
export const DESCRIPTION_MAX = 2000;

/** Every resource's name and description (secrets, locations, vault connections, API keys). */
export const nameSchema = z.string().min(1).max(NAME_MAX);
export const descriptionSchema = z.string().max(DESCRIPTION_MAX);

/** Field names between the domain (camelCase) and the REST wire (snake_case). */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
