import type { GraphQLContext } from './builder.js';

/**
 * Per-request batching: every `load(key)` made in the same tick becomes one `batch(keys)` call,
 * so resolving a field over a list costs one query, not one per row.
 */
export class BatchLoader<K, V> {
  private readonly cache = new Map<K, Promise<V | undefined>>();
  private queue: { key: K; resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly batch: (keys: K[]) => Promise<Map<K, V>>) {}

  load(key: K): Promise<V | undefined> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const promise = new Promise<V | undefined>((resolve, reject) => {
      if (this.queue.length === 0) queueMicrotask(() => void this.dispatch());
      this.queue.push({ key, resolve, reject });
    });
    this.cache.set(key, promise);
    return promise;
  }

  private async dispatch(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    try {
      const results = await this.batch([...new Set(queue.map((q) => q.key))]);
      for (const q of queue) q.resolve(results.get(q.key));
    } catch (error) {
      for (const q of queue) q.reject(error);
    }
  }
}

const loaders = new WeakMap<GraphQLContext, Map<string, BatchLoader<unknown, unknown>>>();

/** The request's loader called `name`, created on first use. */
export function loaderFor<K, V>(
  ctx: GraphQLContext,
  name: string,
  batch: (keys: K[]) => Promise<Map<K, V>>,
): BatchLoader<K, V> {
  let byName = loaders.get(ctx);
  if (!byName) {
    byName = new Map();
    loaders.set(ctx, byName);
  }
  let loader = byName.get(name);
  if (!loader) {
    loader = new BatchLoader(batch as (keys: unknown[]) => Promise<Map<unknown, unknown>>);
    byName.set(name, loader);
  }
  return loader as BatchLoader<K, V>;
}
