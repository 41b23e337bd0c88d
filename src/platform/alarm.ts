/**
 * A worker's idle wait that another part of the same worker can cut short: new work arrived, or the
 * worker is stopping. One wait at a time; ringing with no wait in progress does nothing.
 */
export class Alarm {
  private wake: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Ends the wait in progress; false when there was none. */
  ring(): boolean {
    const wake = this.wake;
    wake?.();
    return wake !== undefined;
  }
}
