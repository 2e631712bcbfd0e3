// Time for the queue. Production uses the system clock; tests use one they can move, so a five-day
// expiry or a four-hour delay warning is tested in milliseconds.

export interface Clock {
  now(): number;
  /** Calls `fire` once `when` (ms since the epoch) has come; returns a function that cancels it. */
  at(when: number, fire: () => void): () => void;
}

// setTimeout overflows past 2^31-1 ms (24.8 days); longer waits re-arm.
const MAX_TIMEOUT = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  at(when, fire) {
    let timer: NodeJS.Timeout;
    const arm = () => {
      const wait = when - Date.now();
      timer = setTimeout(wait > MAX_TIMEOUT ? arm : fire, Math.max(0, Math.min(wait, MAX_TIMEOUT)));
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};
