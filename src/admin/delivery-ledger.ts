// What `letterbox status` tells of deliveries that the queue does not keep: the last attempt's result and
// how many recipients bounced today. Heard on the event bus and kept in memory only, so the count starts
// when the service does (status says since when) rather than costing a write per bounce.
import type { EventBus } from '../core/events.js';

export interface DeliveryRecord {
  at: number;
  recipient: string;
  result: 'delivered' | 'deferred' | 'bounced';
  /** The far side's answer or our reason, as the queue logged it. */
  reply?: string;
}

export interface DeliveryTally {
  last: DeliveryRecord | undefined;
  bouncedToday: number;
  /** Since when bounces are counted: midnight, or the start of the service when that was later. */
  countedSince: number;
}

function midnight(at: number): number {
  const day = new Date(at);
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

export class DeliveryLedger {
  private last: DeliveryRecord | undefined;
  private bounced = 0;
  private day: number;
  private readonly startedAt: number;

  constructor(bus: EventBus, private readonly now: () => number = Date.now) {
    this.startedAt = now();
    this.day = midnight(this.startedAt);
    bus.on('recipient.state', ({ recipient, state, detail }) => {
      if (state !== 'delivered' && state !== 'deferred' && state !== 'bounced') return;
      const at = this.now();
      this.turnDay(at);
      this.last = { at, recipient, result: state, ...(detail ? { reply: detail } : {}) };
      if (state === 'bounced') this.bounced += 1;
    });
  }

  tally(): DeliveryTally {
    this.turnDay(this.now());
    return { last: this.last, bouncedToday: this.bounced, countedSince: Math.max(this.day, this.startedAt) };
  }

  private turnDay(at: number): void {
    const today = midnight(at);
    if (today === this.day) return;
    this.day = today;
    this.bounced = 0;
  }
}
