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
/** Seconds: a store call can be faster than any request (a local store's write). */
const STORE_BUCKETS = [0.001, ...LATENCY_BUCKETS];

/** Every metric's help text (its `# HELP` line in a scrape), by metric name. */
const HELP = {
  http_requests_total: 'HTTP requests answered, by method, route template and status',
  http_request_duration_seconds:
    'Time from receiving an HTTP request to finishing its response, by method, route template and status',
  graphql_operations_total:
    'GraphQL operations executed, by operation type and name; outcome "error" when the result has errors',
  graphql_operation_duration_seconds:
    'Execution time of GraphQL operations (after parsing and validation), by operation type and name',
  credential_store_calls_total:
    'Credential store calls, by store kind, operation and outcome (anything but "success" is a failure)',
  credential_store_call_duration_seconds:
    'Duration of credential store calls (SSM: including the SDK retries), by store kind and operation',
  webhook_deliveries_total:
    'Webhook deliveries: queued (an event for a webhook), then each attempt delivered, retrying or failed (given up)',
  graphql_live_streams: 'Open GraphQL subscription streams (change events) on this instance',
  db_pool_connections_used: 'Database connections lent out of the pool',
  db_pool_connections_free: 'Idle database connections in the pool',
  db_pool_pending_acquires: 'Callers waiting for a database connection from the pool',
  db_pool_pending_creates: 'Database connections being opened by the pool',
} as const;
type MetricName = keyof typeof HELP;

const HTTP_LABELS = ['method', 'route', 'status'] as const;
/** The labels of the GraphQL and store durations; their counters add the outcome. */
const GRAPHQL_LABELS = ['operation_type', 'operation_name'] as const;
const STORE_LABELS = ['store', 'operation'] as const;

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = this.counter('http_requests_total', HTTP_LABELS);
  readonly httpDuration = this.histogram('http_request_duration_seconds', HTTP_LABELS);
  readonly graphqlOperations = this.counter('graphql_operations_total', [...GRAPHQL_LABELS, 'outcome']);
  readonly graphqlDuration = this.histogram('graphql_operation_duration_seconds', GRAPHQL_LABELS);
  readonly storeCalls = this.counter('credential_store_calls_total', [...STORE_LABELS, 'outcome']);
  readonly storeDuration = this.histogram(
    'credential_store_call_duration_seconds',
    STORE_LABELS,
    STORE_BUCKETS,
  );
  readonly webhookDeliveries = this.counter('webhook_deliveries_total', ['outcome']);

  private liveStreams: () => number = () => 0;

  private pool: () => PoolStats | undefined = () => undefined;
  private readonly operationNames = new Set<string>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.gauge('graphql_live_streams', () => this.liveStreams());
    // Each reads 0 while the pool does not exist (not yet opened, or closed).
    const poolGauge = (name: MetricName, read: (stats: PoolStats) => number) =>
      this.gauge(name, () => {
        const stats = this.pool();
        return stats ? read(stats) : 0;
      });
    poolGauge('db_pool_connections_used', (p) => p.numUsed());
    poolGauge('db_pool_connections_free', (p) => p.numFree());
    poolGauge('db_pool_pending_acquires', (p) => p.numPendingAcquires());
    poolGauge('db_pool_pending_creates', (p) => p.numPendingCreates());
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

  private counter<Label extends string>(name: MetricName, labelNames: readonly Label[]) {
    return new Counter({ name, help: HELP[name], labelNames, registers: [this.registry] });
  }

  private histogram<Label extends string>(
    name: MetricName,
    labelNames: readonly Label[],
    buckets = LATENCY_BUCKETS,
  ) {
    return new Histogram({ name, help: HELP[name], labelNames, buckets, registers: [this.registry] });
  }

  /** A gauge that reads its value at scrape time. */
  private gauge(name: MetricName, read: () => number): void {
    new Gauge({
      name,
      help: HELP[name],
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
}
