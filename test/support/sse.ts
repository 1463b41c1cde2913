/**
 * A GraphQL subscription over Server-Sent Events, as any client sends it: a POST with
 * `Accept: text/event-stream`, read as `event: next` / `event: complete` messages.
 */
export interface Subscription {
  /** The HTTP status and the raw text received so far (for canary checks). */
  status: number;
  text(): string;
  /** Resolves with the next `n` results (each `{ data?, errors? }`), or rejects after `timeoutMs` (default 15 s: a bound, not a latency). */
  take(n: number, timeoutMs?: number): Promise<any[]>;
  /** Resolves once the server has ended the stream (`complete`, or the response ended). */
  ended: Promise<void>;
  close(): void;
}

export async function subscribe(
  baseUrl: string,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Subscription> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  let raw = '';
  let buffer = '';
  const results: any[] = [];
  let notify: (() => void) | undefined;
  let finished = false;
  const ended = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        raw += text;
        buffer += text;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(message)?.[1];
          const data = message
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          if (event === 'next' || (!event && data)) results.push(JSON.parse(data));
          if (event === 'complete') finished = true;
          end = buffer.indexOf('\n\n');
        }
        notify?.();
      }
    } catch {
      // aborted by close()
    }
    finished = true;
    notify?.();
  })();
  return {
    status: response.status,
    text: () => raw,
    ended,
    close: () => controller.abort(),
    async take(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (results.length < n) {
        if (finished) throw new Error(`The stream ended after ${results.length} of ${n} results: ${raw}`);
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`Only ${results.length} of ${n} results within ${timeoutMs} ms: ${raw}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          notify = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return results.splice(0, n);
    },
  };
}

/** Every field of the team's secret events, with the subscription's arguments as variables. */
export const SECRET_EVENTS = /* GraphQL */ `
  subscription Events($teamId: ID!, $secretIds: [ID!], $types: [SecretEventType!], $after: ID) {
    secretEvents(teamId: $teamId, secretIds: $secretIds, types: $types, after: $after) {
      id type secretId secretName version changedFields occurredAt
      actor { type userId apiKeyId }
    }
  }
`;
