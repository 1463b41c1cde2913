import type { MikroORM } from '@mikro-orm/postgresql';
import { NotFoundError } from '../../domain/errors.js';
import type { ListQuery, NamedResourceListQuery, Page } from '../../domain/paging.js';
import { type Actor, authorize, type RequestMeta } from '../../domain/scopes.js';
import { changedBy, newNamedResource } from '../../platform/db/columns.js';
import { autocommit } from '../../platform/db/unit-of-work.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import { WritableResourceService } from '../../platform/team-resource-service.js';
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
export class WebhookService extends WritableResourceService<
  Webhook,
  WebhookView,
  NamedResourceListQuery,
  'webhookId'
> {
  readonly repository: WebhookRepository;

  readonly dispatcher: WebhookDispatcher;

  constructor(
    orm: MikroORM,
    logger: Logger,
    private readonly policy: DispatcherOptions,
    metrics?: Metrics,
  ) {
    super(orm, {
      readScope: 'webhooks:read',
      deleteScope: 'webhooks:delete',
      idKey: 'webhookId',
      notFound,
      audit,
    });
    this.repository = new WebhookRepository(orm);
    this.dispatcher = new WebhookDispatcher(orm, this.repository, logger, policy, metrics);
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
    const webhook = await this.insertAudited(actor, meta, createdFields(command), async (em, tx) => {
      await assertWithinPlan(em, teamId, 'webhooks', () => this.repository.count(tx.sql, teamId));
      return em.create(Webhook, {
        ...newNamedResource(teamId, command, actor.userId),
        url,
        eventTypes: command.eventTypes ?? [],
        signingSecret,
        active: command.active ?? true,
      });
    });
    this.dispatcher.wake(true);
    return { webhook: webhookView(webhook), signingSecret };
  }

  async update(
    actor: Actor,
    meta: RequestMeta,
    ids: WebhookIds,
    command: UpdateWebhookCommand,
  ): Promise<WebhookView> {
    authorize(actor, ids.teamId, 'webhooks:update');
    const change = {
      ...command,
      ...(command.url !== undefined && { url: checkTargetUrl(command.url, this.policy) }),
    };
    const webhook = await this.changeLocked(ids, async (em, webhook) => {
      const before = webhookView(webhook);
      const changedFields = (Object.keys(change) as (keyof UpdateWebhookCommand)[])
        .filter((field) => !sameValue(change[field], before[field]))
        .map((field) => (field === 'eventTypes' ? 'event_types' : field));
      if (changedFields.length === 0) return;
      em.assign(webhook, { ...change, ...changedBy(actor.userId) });
      audit(em, actor, meta, 'updated', webhook, changedFields);
    });
    this.dispatcher.wake(true);
    return webhookView(webhook);
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
