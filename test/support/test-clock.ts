/** Test support: a clock that stands still until a test moves it forward. */
import type { Clock } from '../../src/ports/clock.port';

/** A Clock for tests: `advance` jumps ahead; the replay host's timers notice within 50 ms. */
export class TestClock implements Clock {
  private t: number;

  constructor(start = new Date()) {
    this.t = start.getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.t += ms;
  }
}
