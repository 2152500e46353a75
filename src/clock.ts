/** Time, passed in so tests can be exact. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Whole seconds since the epoch. */
  nowSeconds(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  nowSeconds: () => Math.floor(Date.now() / 1000),
};
