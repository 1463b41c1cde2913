/** Field names between the domain (camelCase) and the REST wire (snake_case). */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
