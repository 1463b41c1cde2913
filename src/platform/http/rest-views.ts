import type { z } from 'zod';
import { camelCase } from '../../domain/names.js';

/** REST response bodies are built from explicit allow-lists, one view per resource beside its routes. */

export function iso(date: Date | string): string;
export function iso(date: Date | string | null | undefined): string | null;
export function iso(date: Date | string | null | undefined): string | null {
  return date ? new Date(date).toISOString() : null;
}

/**
 * A view as the REST body `schema` describes: exactly the schema's fields (the allow-list: nothing
 * else of the view is sent), each read from the view's camelCase property; timestamps (`…_at`) as ISO
 * strings, absent values as null. `computed` gives the fields that have no property of their name.
 */
export function restBody<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  view: object,
  computed: Partial<z.infer<z.ZodObject<Shape>>> = {},
): z.infer<z.ZodObject<Shape>> {
  const properties = view as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const field of Object.keys(schema.shape)) {
    const value = field in computed ? computed[field as keyof typeof computed] : properties[camelCase(field)];
    body[field] = field.endsWith('_at') ? iso(value as Date | string | null) : (value ?? null);
  }
  return body as z.infer<z.ZodObject<Shape>>;
}
