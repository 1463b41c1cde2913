import { createHmac, randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { EVENT_TYPES, type EventType } from '../events/change-event.js';

export interface CreateWebhookCommand {
  name: string;
  description?: string | null;
  url: string;
  eventTypes?: EventType[] | null;
  active?: boolean | null;
}

export type UpdateWebhookCommand = Partial<{
  name: string;
  description: string | null;
  url: string;
  eventTypes: EventType[];
  active: boolean;
}>;

/** What an operator allows webhook targets to be (by default: https, public addresses only). */
export interface TargetPolicy {
  allowHttp: boolean;
  allowPrivateNetworks: boolean;
}

/** The longest URL a webhook may have, as sent and as stored (normalized: `é` → `%C3%A9`). */
const MAX_URL_LENGTH = 2048;

export const webhookUrlSchema = z.string().min(1).max(MAX_URL_LENGTH);
export const eventTypesSchema = z
  .array(z.enum(EVENT_TYPES))
  .max(EVENT_TYPES.length)
  .refine((types) => new Set(types).size === types.length, 'Each event type at most once');

/**
 * Addresses a webhook must not reach unless the operator allows private networks: this host, private
 * and carrier-grade NAT ranges, link-local (cloud metadata services), multicast and reserved ones,
 * and the IPv6 forms that carry an IPv4 address or tunnel to one (IPv4-compatible and -translated,
 * NAT64, 6to4, Teredo), which could lead back to any of those.
 */
const PRIVATE_ADDRESSES = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE_ADDRESSES.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE_ADDRESSES.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address (v4, v6, or v4 mapped into v6) is one webhooks may not reach by default. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE_ADDRESSES.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE_ADDRESSES.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The refusal of a target address, as a delivery records it. */
export const PRIVATE_TARGET = 'The target resolves to a private, loopback or link-local address';

/**
 * The URL a webhook may have under `policy`: absolute https (http only when allowed), no user or
 * password in it, and, unless private networks are allowed, no host that is or names this machine or
 * a private address (names are checked again, resolved, at each delivery).
 */
export function checkTargetUrl(url: string, policy: TargetPolicy, path: string[] = ['url']): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw ValidationError.single(path, 'Input should be a valid URL', 'url_parsing');
  }
  const schemes = policy.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(parsed.protocol)) {
    throw ValidationError.single(
      path,
      policy.allowHttp ? 'The URL must be http or https' : 'The URL must be https',
      'url_scheme',
    );
  }
  if (parsed.username || parsed.password) {
    throw ValidationError.single(path, 'The URL must not carry a user name or password', 'value_error');
  }
  const host = hostOf(parsed);
  if (!policy.allowPrivateNetworks && (isIP(host) ? isPrivateAddress(host) : isLocalName(host))) {
    throw ValidationError.single(
      path,
      `${PRIVATE_TARGET}, which this server does not deliver to`,
      'value_error',
    );
  }
  const normalized = parsed.toString();
  if (normalized.length > MAX_URL_LENGTH) {
    throw ValidationError.single(
      path,
      `String should have at most ${MAX_URL_LENGTH} characters (this URL has ${normalized.length} once its characters are percent-encoded)`,
      'string_too_long',
    );
  }
  return normalized;
}

/** A URL's host as an address or a name: an IPv6 address without its brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function isLocalName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || !name.includes('.');
}

/** A new signing secret: `whsec_` and 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The headers a delivery is sent with beside its JSON body, as the docs name them. */
export const DELIVERY_HEADERS = {
  eventId: 'X-Event-Id',
  eventType: 'X-Event-Type',
  deliveryId: 'X-Delivery-Id',
  signature: 'X-Signature',
} as const;

/**
 * The `X-Signature` header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
 * keyed with the webhook's signing secret. A receiver recomputes it and compares, and refuses an old `t`.
 */
export function signature(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** How long to wait before attempt `attempt + 1`, after `attempt` failed: doubling from `baseMs`, at most an hour. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(attempt - 1, 0), 3_600_000);
}

/** The names of the fields a create sets (never values). */
export function createdFields(command: CreateWebhookCommand): string[] {
  return ['name', 'url', 'event_types', 'active', ...(command.description ? ['description'] : [])];
}
