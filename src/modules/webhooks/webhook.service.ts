import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { NotFoundError } from '../../domain/errors.js';
import type { ListQuery, NamedResourceListQuery, Page } from '../../domain/paging.js';
import { type Actor, authorize, type RequestMeta } from '../../domain/scopes.js';
import { authoredBy, changedBy } from '../../platform/db/columns.js';
import { autocommit, unitOfWork } from '../../platform/db/unit-of-work.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import { auditOf } from '../audit/audit.repository.js';
import { assertWithinPlan } from '../teams/plan-limits.js';
import { type DispatcherOptions, WebhookDispatcher } from './webhook.dispatcher.js';
import { Webhook } from './webhook.entity.js';
import {
  type CreatedWebhook,
  type DeliveryView,
  WebhookRepository,
  type WebhookView,
  webhookView,
} from './webhook.repository.js';
import {
  type CreateWebhookCommand,
  checkTargetUrl,
  createdFields,
  newSigningSecret,
  type UpdateWebhookCommand,
} from './webhook.rules.js';

const audit = auditOf('webhook');

/** A webhook of a team; both ids are validated (and lower-cased) by the door. */
export interface WebhookIds {
  teamId: string;
  webhookId: string;
}

/** Every webhook use case, shared by the REST and GraphQL doors. */
export class WebhookService {
  readonly repository: WebhookRepository;

  readonly dispatcher: WebhookDispatcher;

  constructor(
    private readonly orm: MikroORM,
    logger: Logger,
    private readonly policy: DispatcherOptions,
    metrics?: Metrics,
  ) {
    this.repository = new WebhookRepository(orm);
    this.dispatcher = new WebhookDispatcher(orm, this.repository, logger, policy, metrics);
  }

  async get(actor: Actor, { teamId, webhookId }: WebhookIds): Promise<WebhookView> {
    authorize(actor, teamId, 'webhooks:read');
    return (await this.repository.find(teamId, webhookId)) ?? notFound();
  }

  async list(actor: Actor, teamId: string, query: NamedResourceListQuery): Promise<Page<WebhookView>> {
    authorize(actor, teamId, 'webhooks:read');
    return this.repository.list(teamId, query);
  }

  /** The webhook's delivery log, newest first. */
  async deliveries(
    actor: Actor,
    ids: WebhookIds,
    page: ListQuery<'created_at'>,
  ): Promise<Page<DeliveryView>> {
    const webhook = await this.get(actor, ids);
    return this.repository.deliveries(autocommit(this.orm), webhook.id, page);
  }

  async create(
    actor: Actor,
    meta: RequestMeta,
    teamId: string,
    command: CreateWebhookCommand,
  ): Promise<CreatedWebhook> {
    authorize(actor, teamId, 'webhooks:create');
    const url = checkTargetUrl(command.url, this.policy);
    const signingSecret = newSigningSecret();
    const webhook = await unitOfWork(this.orm, async (em, tx) => {
      await assertWithinPlan(em, teamId, 'webhooks', () => this.repository.count(tx.sql, teamId));
      const created = em.create(Webhook, {
        id: randomUUID(),
        teamId,
        name: command.name,
        description: command.description ?? null,
        url,
        eventTypes: command.eventTypes ?? [],
        signingSecret,
        active: command.active ?? true,
        ...authoredBy(actor.userId),
      });
      audit(em, actor, meta, 'created', created, createdFields(command));
      return created;
    });
    this.dispatcher.wake(true);
    return { webhook: webhookView(webhook), signingSecret };
  }

  async update(
    actor: Actor,
    meta: RequestMeta,
    { teamId, webhookId }: WebhookIds,
    command: UpdateWebhookCommand,
  ): Promise<WebhookView> {
    authorize(actor, teamId, 'webhooks:update');
    const change = {
      ...command,
      ...(command.url !== undefined && { url: checkTargetUrl(command.url, this.policy) }),
    };
    const webhook = await unitOfWork(this.orm, async (em) => {
      const webhook = (await this.repository.lockForWrite(em, teamId, webhookId)) ?? notFound();
      const before = webhookView(webhook);
      const changedFields = (Object.keys(change) as (keyof UpdateWebhookCommand)[])
        .filter((field) => !sameValue(change[field], before[field]))
        .map((field) => (field === 'eventTypes' ? 'event_types' : field));
      if (changedFields.length === 0) return webhook;
      em.assign(webhook, { ...change, ...changedBy(actor.userId) });
      audit(em, actor, meta, 'updated', webhook, changedFields);
      return webhook;
    });
    this.dispatcher.wake(true);
    return webhookView(webhook);
  }

  async delete(actor: Actor, meta: RequestMeta, { teamId, webhookId }: WebhookIds): Promise<void> {
    authorize(actor, teamId, 'webhooks:delete');
    await unitOfWork(this.orm, async (em) => {
      const webhook = (await this.repository.lockForWrite(em, teamId, webhookId)) ?? notFound();
      em.remove(webhook);
      audit(em, actor, meta, 'deleted', webhook);
    });
  }
}

function notFound(): never {
  throw new NotFoundError('Webhook not found');
}

declare module '../../platform/services.js' {
  interface Services {
    webhooks: WebhookService;
  }
}

/** Equal field values; a list of event types is a set (its order means nothing, it has no repeats). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x) => b.includes(x));
  return a === b;
}
