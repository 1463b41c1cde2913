import { Client } from 'pg';
import { describeError, type Logger } from '../logger.js';

/**
 * `LISTEN channel` on a connection of its own to a PostgreSQL server, calling `onNotify` for each
 * notification and after every (re)connection (notifications sent meanwhile are lost: the caller
 * then looks for itself). Reconnects with backoff until closed. `notify()` sends a notification on
 * the same connection (none while it is down or once closed: the listeners' own polls catch up).
 */
export function listen(
  connectionString: string,
  channel: string,
  onNotify: () => void,
  logger: Logger,
): { notify(): Promise<void>; close(): Promise<void> } {
  let client: Client | undefined;
  let connected = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let delay = 100;
  const connect = async () => {
    const next = new Client({ connectionString });
    client = next;
    next.on('notification', onNotify);
    next.on('error', (error) => {
      connected = false;
      logger.warn({ error: describeError(error) }, `LISTEN ${channel}: connection lost`);
      void next.end().catch(() => {});
      schedule();
    });
    try {
      await next.connect();
      await next.query(`listen ${channel}`);
      connected = true;
      delay = 100;
      onNotify();
    } catch (error) {
      if (closed) return;
      logger.warn({ error: describeError(error) }, `LISTEN ${channel}: cannot connect`);
      void next.end().catch(() => {});
      schedule();
    }
  };
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, delay);
    retry.unref();
    delay = Math.min(delay * 2, 10_000);
  };
  void connect();
  return {
    async notify() {
      if (!connected || closed) return;
      // Closing ends the connection under a notification in flight: nobody is left to wake then.
      await client?.query('select pg_notify($1, $2)', [channel, '']).catch((error: unknown) => {
        if (!closed) throw error;
      });
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
