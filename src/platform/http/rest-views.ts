import type { z } from 'zod';
import { type CamelKeys, camelCase } from '../../domain/names.js';

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

/** A view as a REST response: the function that renders the body, and the schema that describes it. */
export type RestView<V, S extends z.ZodType = z.ZodType> = ((view: V) => z.infer<S>) & { readonly schema: S };

/** `render` as the REST view of the bodies `schema` describes (the routes' docs read the schema from it). */
export function viewOf<S extends z.ZodType, V>(schema: S, render: (view: V) => z.infer<S>): RestView<V, S> {
  return Object.assign(render, { schema });
}

/** What `restBody` reads a body of `Shape` from: an object with each field's camelCase property. */
type BodySource<Shape extends z.ZodRawShape> = CamelKeys<{ [Field in keyof Shape]: unknown }>;

/**
 * The REST view whose body is `restBody` of `schema`: read from the view (by default one with every
 * field's property), `computed` giving the other fields.
 */
export function restView<Shape extends z.ZodRawShape, V extends object = BodySource<Shape>>(
  schema: z.ZodObject<Shape>,
  computed?: (view: V) => Partial<z.infer<z.ZodObject<Shape>>>,
): RestView<V, z.ZodObject<Shape>> {
  return viewOf(schema, (view: V) => restBody(schema, view, computed?.(view)));
}
