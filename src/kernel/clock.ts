/** Time is injected so tests can move it; production uses the system clock. */
export interface Clock {
  now_ms(): number;
}

export const systemClock: Clock = { now_ms: () => Date.now() };

export function unixSeconds(clock: Clock): number {
  return Math.floor(clock.now_ms() / 1000);
}

/** A clock tests can set and advance. */
export class ManualClock implements Clock {
  constructor(private current_ms: number) {}
  now_ms(): number {
    return this.current_ms;
  }
  advance(delta_ms: number): void {
    this.current_ms += delta_ms;
  }
}
