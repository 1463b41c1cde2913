import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { MikroORM } from '@mikro-orm/postgresql';
import { autocommit, type Sql, unitOfWork } from '../../platform/db/unit-of-work.js';
import { describeError, type Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import { eventRepository } from '../events/event.repository.js';
import type { DueDelivery, WebhookRepository } from './webhook.repository.js';
import {
  isPrivateAddress,
  PRIVATE_TARGET,
  retryDelayMs,
  signature,
  type TargetPolicy,
} from './webhook.rules.js';

const FAN_OUT_BATCH = 500;
const SEND_BATCH = 10;

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
 * or given up after `maxAttempts`. Runs on every wake-up of the change feed.
 */
export class WebhookDispatcher {
  private running: Promise<void> | undefined;
  private again = false;
  private active = false;
  private closed = false;
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
    await Promise.race([this.running, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }

  private async run(poll: boolean): Promise<void> {
    if (poll || !this.active) this.active = await this.repository.anyActive(this.sql);
    if (!this.active) return;
    while ((await this.fanOut()) === FAN_OUT_BATCH && !this.closed);
    while ((await this.deliverDue()) === SEND_BATCH && !this.closed);
  }

  /** Queues deliveries for the next batch of events; the number of events read (0 when another process holds the position). */
  private fanOut(): Promise<number> {
    return unitOfWork(this.orm, async (_em, tx) => {
      const position = await this.repository.lockFeedPosition(tx.sql);
      if (!position) return 0;
      const events = await eventRepository.after(tx.sql, position, { limit: FAN_OUT_BATCH });
      if (!events.length) return 0;
      const queued = await this.repository.queueDeliveries(tx.sql, events);
      if (queued) this.metrics?.webhookDeliveries.inc({ outcome: 'queued' }, queued);
      await this.repository.moveFeedPosition(tx.sql, events.at(-1)!.position);
      return events.length;
    });
  }

  private async deliverDue(): Promise<number> {
    const lease = this.options.timeoutMs + 30_000;
    const due = await this.repository.claimDue(this.sql, SEND_BATCH, lease);
    await Promise.all(due.map((delivery) => this.attempt(delivery)));
    return due.length;
  }

  private async attempt(delivery: DueDelivery): Promise<void> {
    const outcome = await this.send(delivery);
    const retry = !outcome.delivered && delivery.attempts < this.options.maxAttempts;
    const retryAt = retry
      ? new Date(Date.now() + retryDelayMs(delivery.attempts, this.options.retryBaseMs))
      : null;
    await this.repository.recordAttempt(this.sql, delivery.id, { ...outcome, retryAt });
    this.metrics?.webhookDeliveries.inc({
      outcome: outcome.delivered ? 'delivered' : retry ? 'retrying' : 'failed',
    });
  }

  /** One signed POST; a 2xx answer within the timeout is a delivery. Nothing of the answer is kept but its status. */
  private send(delivery: DueDelivery): Promise<Attempt> {
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let url: URL;
    try {
      url = new URL(delivery.url);
    } catch {
      return Promise.resolve({ delivered: false, statusCode: null, error: 'The URL is not valid' });
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!this.options.allowPrivateNetworks && isIP(host) && isPrivateAddress(host)) {
      return Promise.resolve({ delivered: false, statusCode: null, error: PRIVATE_TARGET });
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Attempt>((resolve) => {
      const req = request(
        url,
        {
          method: 'POST',
          timeout: this.options.timeoutMs,
          lookup: this.options.allowPrivateNetworks ? undefined : publicOnlyLookup,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'cloud-secrets-webhooks/1',
            'x-event-id': delivery.eventId,
            'x-event-type': delivery.eventType,
            'x-delivery-id': delivery.id,
            'x-signature': signature(delivery.signingSecret, timestamp, body),
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
      req.on('timeout', () => req.destroy(new Error(`No answer within ${this.options.timeoutMs} ms`)));
      req.on('error', (error) =>
        resolve({ delivered: false, statusCode: null, error: error.message.slice(0, 500) }),
      );
      req.end(body);
    });
  }
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
