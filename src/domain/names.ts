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

/** `snakeCase` for types: `vaultConnectionId` → `vault_connection_id`. */
export type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

export function camelCase(name: string): string {
  return name.replace(/[_-]([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The name with its first letter upper-case: `createLocation` → `CreateLocation`, `location` → `Location`. */
export function capitalized(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** A camelCase name in lower-case words: `vaultConnections` → `vault connections`. */
export function inWords(name: string): string {
  return name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`).trimStart();
}

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** A wire object (snake_case) with its domain names. */
export type CamelKeys<Input> = { [K in keyof Input as CamelCase<K & string>]: Input[K] };

export function camelKeys<Input extends object>(input: Input): CamelKeys<Input> {
  return Object.fromEntries(Object.entries(input).map(([name, value]) => [camelCase(name), value])) as never;
}

/** An update's fields as its command sees them: camelCase, and null only where it clears the field. */
export type Patch<Input, Clearable extends keyof Input> = {
  [K in keyof Input as CamelCase<K & string>]?: K extends Clearable
    ? Exclude<Input[K], undefined>
    : Exclude<Input[K], null | undefined>;
};

/**
 * The rule of every partial update, on both doors: a field omitted is unchanged; null clears a field
 * that can be empty (`clearable`) and leaves any other unchanged. Names become camelCase.
 */
export function patchOf<Input extends object, Clearable extends keyof Input = never>(
  input: Input,
  clearable: readonly Clearable[] = [],
): Patch<Input, Clearable> {
  const sent = Object.entries(input).filter(
    ([name, value]) => value !== undefined && (value !== null || clearable.includes(name as Clearable)),
  );
  return camelKeys(Object.fromEntries(sent)) as never;
}
