import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one app instance, in a registry of its own (never prom-client's global one),
 * so several apps in one process (tests, scripts) do not clash. Served at `GET /metrics`.
 *
 * Label values come only from fixed sets (methods, route templates, store operations, outcomes,
 * status codes) or, for GraphQL operation names, from a bounded set of GraphQL names: never from
 * paths with ids, request bodies, headers or variables, so no label can carry a credential.
 */
export type StoreOperation = 'put' | 'prune' | 'get' | 'delete' | 'listRefs' | 'ping';
export type StoreOutcome = 'success' | 'not_found' | 'unavailable' | 'rejected' | 'error';

/** What the gauges read from the database connection pool (tarn, behind knex) at scrape time. */
export interface PoolStats {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/** Distinct GraphQL operation names kept as label values; later new names count as `other`. */
const MAX_OPERATION_NAMES = 100;
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Seconds: from a fast database write to a slow request. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to finishing its response, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly graphqlOperations = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations executed, by operation type and name; outcome "error" when the result has errors',
    labelNames: ['operation_type', 'operation_name', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly graphqlDuration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'Execution time of GraphQL operations (after parsing and validation), by operation type and name',
    labelNames: ['operation_type', 'operation_name'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly storeCalls = new Counter({
    name: 'credential_store_calls_total',
    help: 'Credential store calls, by store kind, operation and outcome (anything but "success" is a failure)',
    labelNames: ['store', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly storeDuration = new Histogram({
    name: 'credential_store_call_duration_seconds',
    help: 'Duration of credential store calls (SSM: including the SDK retries), by store kind and operation',
    labelNames: ['store', 'operation'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook deliveries: queued (an event for a webhook), then each attempt delivered, retrying or failed (given up)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private liveStreams: () => number = () => 0;

  private pool: () => PoolStats | undefined = () => undefined;
  private readonly operationNames = new Set<string>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const pool = () => this.pool();
    const gauge = (name: string, help: string, read: (stats: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        // Sampled at scrape time; 0 while the pool does not exist (not yet opened, or closed).
        collect() {
          const stats = pool();
          this.set(stats ? read(stats) : 0);
        },
      });
    const liveStreams = () => this.liveStreams();
    new Gauge({
      name: 'graphql_live_streams',
      help: 'Open GraphQL subscription streams (change events) on this instance',
      registers: [this.registry],
      collect() {
        this.set(liveStreams());
      },
    });
    gauge('db_pool_connections_used', 'Database connections lent out of the pool', (p) => p.numUsed());
    gauge('db_pool_connections_free', 'Idle database connections in the pool', (p) => p.numFree());
    gauge('db_pool_pending_acquires', 'Callers waiting for a database connection from the pool', (p) =>
      p.numPendingAcquires(),
    );
    gauge('db_pool_pending_creates', 'Database connections being opened by the pool', (p) =>
      p.numPendingCreates(),
    );
  }

  /** Where the live-streams gauge reads from. */
  observeLiveStreams(source: () => number): void {
    this.liveStreams = source;
  }

  /** Where the pool gauges read from; called once the database is open. */
  observeDatabasePool(source: () => PoolStats | undefined): void {
    this.pool = source;
  }

  /**
   * One answered HTTP request. `route` is a template (`/v1/teams/:team_id/secrets`), never a raw path;
   * `seconds` null: a stream, counted without a duration.
   */
  observeHttpRequest(
    method: string | undefined,
    route: string,
    status: number,
    seconds: number | null,
  ): void {
    const labels = {
      method: method && HTTP_METHODS.has(method) ? method : 'other',
      route,
      status: String(status),
    };
    this.httpRequests.inc(labels);
    if (seconds !== null) this.httpDuration.observe(labels, seconds);
  }

  /**
   * The label value for a client-chosen operation name: `anonymous` without one; the name itself
   * for the first MAX_OPERATION_NAMES distinct names (so a client cannot grow the series without
   * bound); `other` after that.
   */
  operationNameLabel(name: string | undefined): string {
    if (!name) return 'anonymous';
    if (!GRAPHQL_NAME.test(name)) return 'other';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.operationNames.add(name);
    return name;
  }

  /** The text a Prometheus scrape gets, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
