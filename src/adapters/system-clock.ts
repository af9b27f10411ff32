/** The wall clock, for production wiring; tests pass their own Clock. */
import type { Clock } from '../ports/clock.port';

/** Reads the system time. */
export const systemClock: Clock = { now: () => new Date() };
