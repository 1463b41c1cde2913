import DataLoader from 'dataloader';
import type { GraphQLContext } from './builder.js';

const loaders = new WeakMap<GraphQLContext, Map<string, DataLoader<unknown, unknown>>>();

/**
 * The request's loader called `name`, created on first use: every `load(key)` made in the same tick
 * becomes one `batch(keys)` call (keys deduplicated), so resolving a field over a list costs one
 * query, not one per row. A key `batch` leaves out of its map loads as undefined.
 */
export function loaderFor<K, V>(
  ctx: GraphQLContext,
  name: string,
  batch: (keys: K[]) => Promise<Map<K, V>>,
): DataLoader<K, V | undefined> {
  let byName = loaders.get(ctx);
  if (!byName) {
    byName = new Map();
    loaders.set(ctx, byName);
  }
  let loader = byName.get(name) as DataLoader<K, V | undefined> | undefined;
  if (!loader) {
    loader = new DataLoader<K, V | undefined>(async (keys) => {
      const found = await batch([...keys]);
      return keys.map((key) => found.get(key));
    });
    byName.set(name, loader as DataLoader<unknown, unknown>);
  }
  return loader;
}
