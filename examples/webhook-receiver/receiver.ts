/**
 * A webhook receiver for cloud-secrets change events: checks each delivery's signature and
 * timestamp, drops repeats by event id (delivery is at least once), and prints what changed.
 *
 *   WEBHOOK_SIGNING_SECRET=whsec_... npx tsx examples/webhook-receiver/receiver.ts   # listens on :8787
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

/** Whether `header` (`t=<unix seconds>,v1=<hex>`) signs `body` with `secret`, made within `toleranceSeconds`. */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  toleranceSeconds = 300,
): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2)));
  const timestamp = Number(parts.t);
  if (!parts.v1 || !Number.isInteger(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const secret = process.env.WEBHOOK_SIGNING_SECRET;
  if (!secret)
    throw new Error('Set WEBHOOK_SIGNING_SECRET to the signing_secret the webhook was created with');
  const seen = new Set<string>();
  createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (!verifySignature(secret, String(req.headers['x-signature'] ?? ''), body)) {
        res.writeHead(401).end();
        return;
      }
      const event = JSON.parse(body);
      if (!seen.has(event.id)) {
        seen.add(event.id);
        console.log(
          `${event.type} ${event.resource.type} ${event.resource.name} v${event.resource.version}`,
          event.changed_fields,
        );
      }
      res.writeHead(204).end();
    });
  }).listen(Number(process.env.PORT ?? 8787));
}
