// A clock the test moves by hand, for the queue's retries, warnings and expiry.
import type { Clock } from '../../src/queue/clock.js';

export class ManualClock implements Clock {
  private timers: { when: number; fire: () => void }[] = [];
  constructor(private current = Date.now()) {}

  now(): number {
    return this.current;
  }

  at(when: number, fire: () => void): () => void {
    const timer = { when, fire };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.when <= target).sort((a, b) => a.when - b.when)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.when);
      due.fire();
    }
    this.current = target;
  }
}
