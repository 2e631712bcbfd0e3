// How the queue works
// -------------------
// The store holds every queue entry with the state of each recipient; this scheduler keeps a live
// copy of them in memory, rebuilt from the store at start (so a restart or power cut loses nothing).
// It wakes at the earliest due recipient, groups due recipients by destination domain, and hands each
// group to the delivery agent (one connection per destination carries them all), within limits on
// attempts in flight overall and per domain. After each attempt it writes the new state of the entry
// (and any DSN) in one durable batch before it looks at the entry again. A recipient the far side
// accepted is recorded as delivered at once; only a crash between the far side's 250 and that write
// can make it go twice (Postfix has the same window).
import type { Logger } from 'pino';
import type { DeliveryAgent, Directory, MailStore, OutboundMessage, QueueControl, QueueStore } from '../core/interfaces.js';
import type { EventBus } from '../core/events.js';
import type { DeliveryOutcome, QueueEntry, QueueRecipient } from '../core/types.js';
import { parseAddress } from '../core/address.js';
import { LetterboxError } from '../core/errors.js';
import { systemClock, type Clock } from './clock.js';
import { isDueForWarning, isExpired, retryDelayMs, type RetryPolicy } from './retry.js';
import { QueueOperations } from './operations.js';
import { settleWithNotice } from './notices.js';

export interface SchedulerSettings extends RetryPolicy {
  hostname: string;
  maxInFlight: number;
  maxInFlightPerDomain: number;
}

export interface SchedulerDeps {
  queue: QueueStore;
  mail: MailStore;
  directory: Directory;
  agent: DeliveryAgent;
  bus: EventBus;
  log: Logger;
  clock?: Clock;
}

/** Messages handed to the agent in one call for one domain. */
const MAX_BATCH = 50;

type Due = { entry: QueueEntry; recipients: QueueRecipient[] };

export class QueueScheduler implements QueueControl {
  private readonly clock: Clock;
  private readonly entries = new Map<string, QueueEntry>();
  private readonly perDomain = new Map<string, number>();
  private readonly attempts = new Set<Promise<void>>();
  private readonly ops: QueueOperations;
  private inFlight = 0;
  private cancelTimer: (() => void) | undefined;
  private wakeAt = Infinity;
  private stopped = true;
  private unsubscribe: (() => void) | undefined;
  /** When the last recipient was delivered, for `letterbox status`. */
  lastDeliveryAt: number | undefined;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly deps: SchedulerDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.ops = new QueueOperations({ ...deps, hostname: settings.hostname }, this.clock);
  }

  async start(): Promise<void> {
    for (const entry of await this.deps.queue.listQueue()) {
      // An attempt cut short by a crash: try again (the far side may have it already; see above).
      for (const r of entry.recipients) if (r.state === 'inflight') r.state = 'queued';
      this.entries.set(entry.id, entry);
    }
    this.stopped = false;
    this.unsubscribe = this.deps.bus.on('message.queued', ({ queueId }) => void this.admit(queueId));
    this.deps.log.info({ svc: 'queue', entries: this.entries.size }, 'queue started');
    this.publishDepth();
    this.pump();
  }

  /** Stops starting attempts and waits up to `graceMs` for those in flight. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.cancelTimer?.();
    const settled = Promise.allSettled([...this.attempts]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  async listQueue(): Promise<QueueEntry[]> {
    return [...this.entries.values()].map((e) => structuredClone(e));
  }

  async retry(id?: string): Promise<number> {
    const now = this.clock.now();
    const chosen = id ? [this.mustGet(id)] : [...this.entries.values()];
    for (const entry of chosen) {
      for (const r of pending(entry)) if (r.state === 'deferred') r.nextAttemptAt = now;
      entry.nextAttemptAt = now;
    }
    this.pump();
    return chosen.length;
  }

  async remove(id: string): Promise<void> {
    this.mustGet(id);
    await this.ops.remove(id);
    this.entries.delete(id);
    this.publishDepth();
  }

  async bounce(id: string): Promise<void> {
    const entry = this.mustGet(id);
    if (entry.recipients.some((r) => r.state === 'inflight')) {
      throw new LetterboxError('INVALID', `entry ${id} is being delivered right now; try again in a moment`);
    }
    await this.ops.bounceEntry(entry);
    this.forgetIfDone(entry);
  }

  private mustGet(id: string): QueueEntry {
    const entry = this.entries.get(id);
    if (!entry) throw this.ops.notFound(id);
    return entry;
  }

  private async admit(queueId: string): Promise<void> {
    const entry = await this.deps.queue.getQueueEntry(queueId);
    if (!entry || this.stopped) return;
    this.entries.set(entry.id, entry);
    this.publishDepth();
    this.pump();
  }

  /** Starts every attempt that is due and allowed, then sleeps until the next one is due. */
  private pump(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const [domain, group] of this.dueByDomain(now)) {
      if (this.inFlight >= this.settings.maxInFlight) break;
      if ((this.perDomain.get(domain) ?? 0) >= this.settings.maxInFlightPerDomain) continue;
      this.launch(domain, group.slice(0, MAX_BATCH));
    }
    this.sleepUntilNextDue();
  }

  private dueByDomain(now: number): Map<string, Due[]> {
    const byDomain = new Map<string, Due[]>();
    const ordered = [...this.entries.values()].sort((a, b) => a.createdAt - b.createdAt);
    for (const entry of ordered) {
      for (const r of pending(entry)) {
        if ((r.nextAttemptAt ?? 0) > now) continue;
        const domain = parseAddress(r.address)?.domain ?? '';
        const group = byDomain.get(domain) ?? [];
        let due = group.find((d) => d.entry === entry);
        if (!due) group.push((due = { entry, recipients: [] }));
        due.recipients.push(r);
        byDomain.set(domain, group);
      }
    }
    return byDomain;
  }

  private sleepUntilNextDue(): void {
    let next = Infinity;
    for (const entry of this.entries.values()) for (const r of pending(entry)) next = Math.min(next, r.nextAttemptAt ?? 0);
    if (next === Infinity || next === this.wakeAt) return;
    this.cancelTimer?.();
    this.wakeAt = next;
    this.cancelTimer = this.clock.at(next, () => {
      this.wakeAt = Infinity;
      this.cancelTimer = undefined;
      this.pump();
    });
  }

  private launch(domain: string, group: Due[]): void {
    this.inFlight += 1;
    this.perDomain.set(domain, (this.perDomain.get(domain) ?? 0) + 1);
    for (const { entry, recipients } of group) {
      for (const r of recipients) this.setState(entry, r, 'inflight');
    }
    const attempt = this.attempt(domain, group)
      .catch((err: unknown) => this.deps.log.error({ err, svc: 'queue', domain }, 'delivery attempt failed unexpectedly'))
      .finally(() => {
        this.inFlight -= 1;
        this.perDomain.set(domain, (this.perDomain.get(domain) ?? 1) - 1);
        this.attempts.delete(attempt);
        this.pump();
      });
    this.attempts.add(attempt);
  }

  private async attempt(domain: string, group: Due[]): Promise<void> {
    const messages: OutboundMessage[] = group.map(({ entry, recipients }) => ({
      queueId: entry.id,
      sender: entry.sender,
      recipients: recipients.map((r) => ({ address: r.address, ...(r.dsn ? { dsn: r.dsn } : {}) })),
      size: entry.size,
      ...(entry.envid ? { envid: entry.envid } : {}),
      ...(entry.ret ? { ret: entry.ret } : {}),
      open: () => this.deps.mail.openMessage(entry.messageId),
    }));
    let outcomes: Map<string, DeliveryOutcome[]>;
    try {
      outcomes = await this.deps.agent.deliver(domain, messages);
    } catch (err) {
      this.deps.log.error({ err, svc: 'queue', domain }, 'delivery agent failed');
      outcomes = new Map();
    }
    for (const { entry, recipients } of group) {
      await this.record(entry, recipients, outcomes.get(entry.id) ?? []);
    }
  }

  /** Applies an attempt's outcomes to the entry and writes them, with a DSN when one is due. */
  private async record(entry: QueueEntry, tried: QueueRecipient[], outcomes: DeliveryOutcome[]): Promise<void> {
    const now = this.clock.now();
    const failed: QueueRecipient[] = [];
    entry.attempts += 1;
    for (const r of tried) {
      const outcome = outcomes.find((o) => o.address === r.address) ?? lostOutcome(r.address);
      r.attempts += 1;
      r.updatedAt = now;
      if (outcome.remoteMta) r.remoteMta = outcome.remoteMta;
      r.lastError = outcome.status === 'delivered' ? undefined : outcome.reply;
      if (outcome.status === 'delivered') {
        delete r.lastError;
        this.lastDeliveryAt = now;
        this.setState(entry, r, 'delivered', outcome.reply);
      } else if (outcome.status === 'bounced') {
        failed.push(r);
        this.setState(entry, r, 'bounced', outcome.reply);
      } else if (isExpired(this.settings, entry.createdAt, now)) {
        r.lastError = `${outcome.reply} (gave up: message expired after ${Math.round(this.settings.expireAfterSeconds / 3600)} h in the queue)`;
        failed.push(r);
        this.setState(entry, r, 'bounced', r.lastError);
      } else {
        r.nextAttemptAt = now + retryDelayMs(this.settings, r.attempts);
        this.setState(entry, r, 'deferred', outcome.reply);
      }
    }
    entry.lastError = tried.map((r) => r.lastError).find((e) => e !== undefined) ?? entry.lastError;
    const stillPending = pending(entry);
    entry.nextAttemptAt = Math.min(...stillPending.map((r) => r.nextAttemptAt ?? now), Infinity);
    if (!Number.isFinite(entry.nextAttemptAt)) entry.nextAttemptAt = now;

    const deps = { ...this.deps, hostname: this.settings.hostname };
    if (failed.length > 0) {
      await settleWithNotice(deps, entry, 'failure', failed, now);
    } else if (isDueForWarning(this.settings, entry.createdAt, entry.warnedAt, now) && stillPending.some((r) => r.state === 'deferred')) {
      entry.warnedAt = now;
      const retryUntil = entry.createdAt + this.settings.expireAfterSeconds * 1000;
      await settleWithNotice(deps, entry, 'delay', stillPending.filter((r) => r.state === 'deferred'), now, retryUntil);
    } else {
      await this.deps.queue.settleQueueEntry(structuredClone(entry));
    }
    this.forgetIfDone(entry);
  }

  private forgetIfDone(entry: QueueEntry): void {
    if (pending(entry).length === 0 && !entry.recipients.some((r) => r.state === 'inflight')) this.entries.delete(entry.id);
    this.publishDepth();
  }

  private setState(entry: QueueEntry, r: QueueRecipient, state: QueueRecipient['state'], detail?: string): void {
    r.state = state;
    this.deps.bus.emit('recipient.state', { queueId: entry.id, recipient: r.address, state, ...(detail ? { detail } : {}) });
    if (state !== 'inflight') this.deps.log.info({ svc: 'queue', queueId: entry.id, msgid: entry.messageId, rcpt: r.address, state, detail }, `recipient ${state}`);
  }

  private publishDepth(): void {
    let recipients = 0;
    let deferred = 0;
    for (const entry of this.entries.values()) {
      for (const r of entry.recipients) {
        if (r.state === 'delivered' || r.state === 'bounced') continue;
        recipients += 1;
        if (r.state === 'deferred') deferred += 1;
      }
    }
    this.deps.bus.emit('queue.depth', { messages: this.entries.size, recipients, deferred });
  }
}

function pending(entry: QueueEntry): QueueRecipient[] {
  return entry.recipients.filter((r) => r.state === 'queued' || r.state === 'deferred');
}

/** The agent gave no word on a recipient (it should always): treat as a temporary failure. */
function lostOutcome(address: string): DeliveryOutcome {
  return { address, status: 'deferred', reply: '451 4.3.0 Delivery attempt ended without a result', enhancedCode: '4.3.0', via: 'mx' };
}
