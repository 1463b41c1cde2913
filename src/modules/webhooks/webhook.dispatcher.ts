import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { MikroORM } from '@mikro-orm/postgresql';
import { autocommit, type Sql, unitOfWork } from '../../platform/db/unit-of-work.js';
import { describeError, type Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import { eventRepository } from '../events/event.repository.js';
import { SettleRetry } from '../events/settle-retry.js';
import type { DueDelivery, WebhookRepository } from './webhook.repository.js';
import {
  DELIVERY_HEADERS,
  hostOf,
  isPrivateAddress,
  PRIVATE_TARGET,
  retryDelayMs,
  signature,
  type TargetPolicy,
} from './webhook.rules.js';

const FAN_OUT_BATCH = 500;
/** Deliveries a process has in flight at once, whatever their webhooks. */
const MAX_IN_FLIGHT = 20;

export interface DispatcherOptions extends TargetPolicy {
  timeoutMs: number;
  retryBaseMs: number;
  maxAttempts: number;
}

/** What one attempt came to. */
interface Attempt {
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
}

/**
 * Webhook delivery from the PostgreSQL outbox. Fan-out: the committed events after the shared
 * position become one delivery row per interested webhook, and the position moves, in one
 * transaction taken by one process at a time. Delivery: due rows are claimed (attempt counted,
 * leased), POSTed signed, and their outcome recorded: delivered, retried with exponential backoff,
 * or given up after `maxAttempts`. Runs on every wake-up of the change feed. Sends run beside it
 * (at most MAX_IN_FLIGHT, each within its deadline): a slow receiver delays nothing else.
 */
export class WebhookDispatcher {
  private running: Promise<void> | undefined;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  private active = false;
  private closed = false;
  private readonly retry = new SettleRetry(() => this.wake());
  private readonly sql: Sql;

  constructor(
    private readonly orm: MikroORM,
    private readonly repository: WebhookRepository,
    private readonly logger: Logger,
    private readonly options: DispatcherOptions,
    private readonly metrics?: Metrics,
  ) {
    this.sql = autocommit(orm);
  }

  /**
   * Called on every wake-up of the feed. `poll` (the periodic one, or a webhook changed here) first
   * asks whether any webhook is active; otherwise nothing is read while none was.
   */
  wake(poll = false): void {
    if (this.closed) return;
    if (!poll && !this.active) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run(poll)
      .catch((error) => this.logger.warn({ error: describeError(error) }, 'webhooks: dispatch failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /**
   * Starts nothing more and waits up to 2 s for what runs: a delivery still waiting for a slow
   * receiver is tried again (by any process) once its lease runs out.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.retry.stop();
    const settled = Promise.all([this.running, ...this.inFlight]);
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }

  private async run(poll: boolean): Promise<void> {
    if (poll || !this.active) this.active = await this.repository.anyActive(this.sql);
    if (!this.active) return;
    while ((await this.fanOut()) === FAN_OUT_BATCH && !this.closed);
    await this.sendDue();
  }

  /** Queues deliveries for the next batch of events; the number of events read (0 when another process holds the position). */
  private fanOut(): Promise<number> {
    return unitOfWork(this.orm, async (_em, tx) => {
      const position = await this.repository.lockFeedPosition(tx.sql);
      if (!position) return 0;
      const { events, unsettled } = await eventRepository.after(tx.sql, position, { limit: FAN_OUT_BATCH });
      if (events.length < FAN_OUT_BATCH) this.retry.looked(unsettled);
      if (!events.length) return 0;
      const queued = await this.repository.queueDeliveries(tx.sql, events);
      if (queued) this.metrics?.webhookDeliveries.inc({ outcome: 'queued' }, queued);
      await this.repository.moveFeedPosition(tx.sql, events.at(-1)!.position);
      return events.length;
    });
  }

  /** Claims as many due deliveries as there is room in flight for, and starts them; each, done, looks for more. */
  private async sendDue(): Promise<void> {
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (room <= 0 || this.closed) return;
    const lease = this.options.timeoutMs + 30_000;
    for (const delivery of await this.repository.claimDue(this.sql, room, lease)) {
      const attempt: Promise<void> = this.attempt(delivery)
        .catch((error) => this.logger.warn({ error: describeError(error) }, 'webhooks: delivery failed'))
        .finally(() => {
          this.inFlight.delete(attempt);
          this.wake();
        });
      this.inFlight.add(attempt);
    }
  }

  private async attempt(delivery: DueDelivery): Promise<void> {
    const outcome = await this.send(delivery);
    const retry = !outcome.delivered && delivery.attempts < this.options.maxAttempts;
    const retryAt = retry
      ? new Date(Date.now() + retryDelayMs(delivery.attempts, this.options.retryBaseMs))
      : null;
    await this.repository.recordAttempt(this.sql, delivery, { ...outcome, retryAt });
    this.metrics?.webhookDeliveries.inc({
      outcome: outcome.delivered ? 'delivered' : retry ? 'retrying' : 'failed',
    });
  }

  /**
   * One signed POST; a 2xx answer within the timeout (a deadline for the whole exchange) is a
   * delivery. Nothing of the answer is kept but its status; a failure is told in a few fixed words.
   */
  private send(delivery: DueDelivery): Promise<Attempt> {
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let url: URL;
    try {
      url = new URL(delivery.url);
    } catch {
      return Promise.resolve({ delivered: false, statusCode: null, error: 'The URL is not valid' });
    }
    const host = hostOf(url);
    if (!this.options.allowPrivateNetworks && isIP(host) && isPrivateAddress(host)) {
      return Promise.resolve({ delivered: false, statusCode: null, error: PRIVATE_TARGET });
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Attempt>((resolve) => {
      const req = request(
        url,
        {
          method: 'POST',
          signal: AbortSignal.timeout(this.options.timeoutMs),
          lookup: this.options.allowPrivateNetworks ? undefined : publicOnlyLookup,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'cloud-secrets-webhooks/1',
            [DELIVERY_HEADERS.eventId]: delivery.eventId,
            [DELIVERY_HEADERS.eventType]: delivery.eventType,
            [DELIVERY_HEADERS.deliveryId]: delivery.id,
            [DELIVERY_HEADERS.signature]: signature(delivery.signingSecret, timestamp, body),
          },
        },
        (res) => {
          // Only the status counts: the answer's body is neither read nor kept (nor waited for).
          res.destroy();
          const status = res.statusCode ?? 0;
          const delivered = status >= 200 && status < 300;
          resolve({ delivered, statusCode: status, error: delivered ? null : `HTTP ${status}` });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ delivered: false, statusCode: null, error: failureOf(error, this.options.timeoutMs) }),
      );
      req.end(body);
    });
  }
}

/**
 * Why an attempt failed, in a few fixed words: never the error's own message (which could describe
 * the receiver's network in detail).
 */
function failureOf(error: NodeJS.ErrnoException, timeoutMs: number): string {
  if (error.code === 'EPRIVATETARGET') return PRIVATE_TARGET;
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return `No answer within ${timeoutMs} ms`;
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return 'The host name does not resolve';
  return 'The receiver could not be reached';
}

/**
 * DNS resolution that refuses private, loopback and link-local addresses: checked on the address
 * the connection will use, so a name cannot pass a check and then resolve elsewhere.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused || !addresses.length) {
      return callback(Object.assign(new Error(PRIVATE_TARGET), { code: 'EPRIVATETARGET' }), '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};
