import type { z } from 'zod';
import { camelCase } from '../../domain/names.js';

/** REST response bodies are built from explicit allow-lists, one view per resource beside its routes. */

export function iso(date: Date | string): string;
export function iso(date: Date | string | null | undefined): string | null;
export function iso(date: Date | string | null | undefined): string | null {
  return date ? new Date(date).toISOString() : null;
}

/** Each response schema's fields with the view property each is read from, worked out once. */
const bodyFields = new WeakMap<z.ZodObject, { field: string; property: string; timestamp: boolean }[]>();

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
  let fields = bodyFields.get(schema);
  if (!fields) {
    fields = Object.keys(schema.shape).map((field) => ({
      field,
      property: camelCase(field),
      timestamp: field.endsWith('_at'),
    }));
    bodyFields.set(schema, fields);
  }
  const properties = view as Record<string, unknown>;
  const given = computed as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const { field, property, timestamp } of fields) {
    const value = field in given ? given[field] : properties[property];
    body[field] = timestamp ? iso(value as Date | string | null) : (value ?? null);
  }
  return body as z.infer<z.ZodObject<Shape>>;
}
