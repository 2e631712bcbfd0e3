// The scheduler's live copy of the queue: every entry with the state of each recipient, as the store
// has it plus what is in flight. Every change of a recipient's state goes through here, so the bus and
// the log hear of each one, and the depth is announced when it changes.
import type { Logger } from 'pino';
import type { EventBus } from '../core/events.js';
import type { QueueEntry, QueueRecipient, RecipientState } from '../core/types.js';
import { queueDepth } from './due.js';
import { earliestAttempt } from './results.js';

/** Fields a written recipient may have dropped (a delivered one has no error or next attempt). */
const OPTIONAL_FIELDS = ['lastError', 'status', 'dsn', 'nextAttemptAt', 'remoteMta'] as const satisfies readonly (keyof QueueRecipient)[];

export class LiveQueue {
  private readonly entries = new Map<string, QueueEntry>();
  private lastDepth = '';
  /** When the last recipient was delivered, for `letterbox status`. */
  lastDeliveryAt: number | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  get(id: string): QueueEntry | undefined {
    return this.entries.get(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  values(): IterableIterator<QueueEntry> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Takes an entry read from the store. */
  load(entry: QueueEntry): void {
    if (this.entries.has(entry.id)) return;
    // An attempt cut short by a crash or a stop: try again (the far side may have it already; scheduler.ts).
    for (const r of entry.recipients) if (r.state === 'inflight') r.state = 'queued';
    this.entries.set(entry.id, entry);
  }

  forget(id: string): void {
    this.entries.delete(id);
    this.publishDepth();
  }

  /** After a write of the whole entry: forgotten when every recipient is final. */
  written(entry: QueueEntry, now: number): void {
    entry.nextAttemptAt = earliestAttempt(entry, now);
    const done = entry.recipients.every((r) => r.state === 'delivered' || r.state === 'bounced');
    if (done) this.forget(entry.id);
    else this.publishDepth();
  }

  /** A recipient as written becomes the live one (the same object, which attempts refer to); its new state is announced. */
  adoptRecipient(entry: QueueEntry, live: QueueRecipient, written: QueueRecipient, detail: string | undefined): void {
    for (const key of OPTIONAL_FIELDS) if (!(key in written)) delete live[key];
    Object.assign(live, written);
    if (written.state === 'delivered') this.lastDeliveryAt = written.updatedAt;
    this.setState(entry, live, written.state, detail);
  }

  setState(entry: QueueEntry, r: QueueRecipient, state: RecipientState, detail?: string): void {
    r.state = state;
    this.bus.emit('recipient.state', { queueId: entry.id, recipient: r.address, state, ...(detail ? { detail } : {}) });
    if (state !== 'inflight') this.log.info({ svc: 'queue', queueId: entry.id, msgid: entry.messageId, rcpt: r.address, state, detail }, `recipient ${state}`);
  }

  /** Tells the bus how deep the queue is, when that changed. */
  publishDepth(): void {
    const depth = queueDepth(this.entries.values());
    const key = `${depth.messages}/${depth.recipients}/${depth.deferred}`;
    if (key === this.lastDepth) return;
    this.lastDepth = key;
    this.bus.emit('queue.depth', depth);
  }
}
