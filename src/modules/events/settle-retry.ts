const FIRST_DELAY_MS = 20;
const MAX_DELAY_MS = 1000;

/**
 * Looks again shortly while committed events wait to settle (an older transaction still runs, and
 * its end may wake nobody: a rollback, a transaction of no process of ours): after 20 ms, then
 * doubling up to 1 s, until a look finds nothing waiting.
 */
export class SettleRetry {
  private delay = FIRST_DELAY_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly look: () => void) {}

  /** After a look: `unsettled` says whether committed events were left waiting. */
  looked(unsettled: boolean): void {
    if (!unsettled) {
      this.delay = FIRST_DELAY_MS;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.look();
    }, this.delay);
    this.timer.unref();
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
