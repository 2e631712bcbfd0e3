// How the queue works
// -------------------
// The store holds every queue entry with the state of each recipient; this scheduler keeps a live
// copy of them in memory, rebuilt from the store at start (so a restart or power cut loses nothing).
// It wakes at the earliest due recipient, groups due recipients by destination domain, and hands each
// group to the delivery agent (one connection per destination carries them all), within limits on
// attempts in flight overall and per domain. A recipient handed to the agent is `inflight` and is not
// handed over again until its attempt is recorded.
//
// Recording. An entry with recipients at several domains has several attempts in flight at once, and
// each one ends with a write of the whole entry (and perhaps a DSN) in one durable batch. Those writes
// go one at a time per entry, each one on a copy of the entry taken when its turn comes, and the copy
// is adopted as the live entry only once it is written: so the store never gets an older picture after
// a newer one, and only the last write of an entry sees every recipient final, deletes it and drops its
// reference on the message (once). Administrator operations on an entry take the same turn.
//
// A recipient the far side accepted is recorded as delivered at once; only a crash between the far
// side's 250 and that write can make it go twice (Postfix has the same window). When the write itself
// fails (a store error), nothing is left in flight: delivered recipients stay delivered in memory, the
// others are deferred (a bounce is owed again at the next attempt, so its DSN is not lost), and the
// entry is written again after the first retry interval.
import type { Logger } from 'pino';
import type { DeliveryAgent, Directory, MailStore, QueueControl, QueueStore } from '../core/interfaces.js';
import type { EventBus } from '../core/events.js';
import type { DeliveryOutcome, QueueEntry, QueueRecipient } from '../core/types.js';
import { LetterboxError } from '../core/errors.js';
import { systemClock, type Clock } from './clock.js';
import { retryDelayMs, type RetryPolicy } from './retry.js';
import { QueueOperations } from './operations.js';
import { settleWithNotice, type NoticeDeps, type NoticeSent } from './notices.js';
import { applyAcceptances, applyOutcomes, earliestAttempt, type AttemptResult } from './results.js';
import { dueByDomain, nextDueAfter, outboundMessages, queueDepth, type Due } from './due.js';
import { Turns } from './turns.js';

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

const OPTIONAL_FIELDS = ['lastError', 'dsn', 'nextAttemptAt', 'remoteMta'] as const satisfies readonly (keyof QueueRecipient)[];

export class QueueScheduler implements QueueControl {
  private readonly clock: Clock;
  private readonly entries = new Map<string, QueueEntry>();
  private readonly perDomain = new Map<string, number>();
  private readonly attempts = new Set<Promise<void>>();
  /** Writes and operations per entry, one at a time. */
  private readonly turns = new Turns();
  /** Entries an administrator operation is working on: no attempt starts for them meanwhile. */
  private readonly held = new Set<string>();
  /** Entries whose last write failed, with the cancel of the timer that writes them again. */
  private readonly unsaved = new Map<string, () => void>();
  /** Recipients the far side accepted during attempts, waiting for their entry's turn to be written. */
  private readonly accepted = new Map<string, { outcomes: DeliveryOutcome[]; written: Promise<void> }>();
  private readonly ops: QueueOperations;
  private readonly notices: NoticeDeps;
  private inFlight = 0;
  private cancelTimer: (() => void) | undefined;
  private wakeAt = Infinity;
  private stopped = true;
  /** While start() reads the store: the queue ids announced meanwhile, admitted once it has. */
  private backlog: string[] | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastDepth = '';
  /** When the last recipient was delivered, for `letterbox status`. */
  lastDeliveryAt: number | undefined;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly deps: SchedulerDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.notices = { ...deps, hostname: settings.hostname };
    this.ops = new QueueOperations(this.notices, this.clock);
  }

  async start(): Promise<void> {
    if (!this.stopped || this.backlog) return;
    // Listening first: a message queued while the store is read is then admitted, not missed.
    const backlog: string[] = (this.backlog = []);
    this.unsubscribe = this.deps.bus.on('message.queued', ({ queueId }) => {
      if (this.backlog) this.backlog.push(queueId);
      else void this.admit(queueId);
    });
    try {
      for (const entry of await this.deps.queue.listQueue()) this.load(entry);
      for (const queueId of backlog) {
        const entry = this.entries.has(queueId) ? null : await this.deps.queue.getQueueEntry(queueId);
        if (entry) this.load(entry);
      }
    } catch (err) {
      this.unsubscribe();
      this.unsubscribe = undefined;
      throw err;
    } finally {
      this.backlog = undefined;
    }
    this.stopped = false;
    this.deps.log.info({ svc: 'queue', entries: this.entries.size }, 'queue started');
    this.publishDepth();
    this.pump();
  }

  /**
   * Stops starting attempts and waits up to `graceMs` for those in flight. An attempt that outlives
   * the grace is still recorded when it ends, if the store is still open by then.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.wakeAt = Infinity;
    for (const cancel of this.unsaved.values()) cancel();
    const settled = Promise.allSettled([...this.attempts, this.turns.settled()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    if (this.attempts.size > 0) this.deps.log.warn({ svc: 'queue', attempts: this.attempts.size }, 'queue stopped with delivery attempts still running');
  }

  async listQueue(): Promise<QueueEntry[]> {
    return [...this.entries.values()].map((e) => structuredClone(e));
  }

  async retry(id?: string): Promise<number> {
    const now = this.clock.now();
    const chosen = id ? [this.mustGet(id)] : [...this.entries.values()];
    for (const entry of chosen) {
      for (const r of entry.recipients) if (r.state === 'deferred') r.nextAttemptAt = now;
      entry.nextAttemptAt = earliestAttempt(entry, now);
    }
    this.pump();
    return chosen.length;
  }

  async remove(id: string): Promise<void> {
    await this.administer(id, async () => {
      await this.ops.remove(id);
      this.forget(id);
    });
  }

  async bounce(id: string): Promise<void> {
    await this.administer(id, async (entry) => {
      const next = structuredClone(entry);
      const notice = await this.ops.bounceEntry(next);
      entry.recipients.forEach((r, index) => {
        const after = next.recipients[index];
        if (after && after.state !== r.state) this.adoptRecipient(entry, r, after, after.lastError);
      });
      this.saved(entry);
      if (notice) await this.announce(notice);
    });
  }

  /** Runs an administrator operation on an entry in its turn, once no attempt of it is in flight. */
  private async administer(id: string, operation: (entry: QueueEntry) => Promise<void>): Promise<void> {
    const entry = this.mustGet(id);
    await this.turns.run(id, async () => {
      if (this.entries.get(id) !== entry) throw this.ops.notFound(id);
      // The agent may be reading the message's bytes right now; they must stay until it is done.
      if (entry.recipients.some((r) => r.state === 'inflight')) {
        throw new LetterboxError('INVALID', `entry ${id} is being delivered right now; try again in a moment`);
      }
      this.held.add(id);
      try {
        await operation(entry);
      } finally {
        this.held.delete(id);
        this.pump();
      }
    });
  }

  private mustGet(id: string): QueueEntry {
    const entry = this.entries.get(id);
    if (!entry) throw this.ops.notFound(id);
    return entry;
  }

  private load(entry: QueueEntry): void {
    if (this.entries.has(entry.id)) return;
    // An attempt cut short by a crash or a stop: try again (the far side may have it already; see above).
    for (const r of entry.recipients) if (r.state === 'inflight') r.state = 'queued';
    this.entries.set(entry.id, entry);
  }

  private async admit(queueId: string): Promise<void> {
    if (this.stopped || this.entries.has(queueId)) return;
    let entry: QueueEntry | null;
    try {
      entry = await this.deps.queue.getQueueEntry(queueId);
    } catch (err) {
      // It stays in the store and is picked up at the next start.
      this.deps.log.error({ err, svc: 'queue', queueId }, 'could not read a newly queued entry');
      return;
    }
    if (!entry || this.stopped) return;
    this.load(entry);
    this.publishDepth();
    this.pump();
  }

  /** Starts every attempt that is due and allowed, then sleeps until the next one is due. */
  private pump(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const [domain, group] of dueByDomain(this.entries.values(), (e) => this.held.has(e.id), now)) {
      for (let first = 0; first < group.length; first += MAX_BATCH) {
        if (this.inFlight >= this.settings.maxInFlight) return this.sleepUntilNextDue(now);
        if ((this.perDomain.get(domain) ?? 0) >= this.settings.maxInFlightPerDomain) break;
        this.launch(domain, group.slice(first, first + MAX_BATCH));
      }
    }
    this.sleepUntilNextDue(now);
  }

  /**
   * Arms the timer for the earliest recipient not yet due. Recipients that are due but wait for a free
   * slot need no timer: the attempt that frees the slot pumps again.
   */
  private sleepUntilNextDue(now: number): void {
    const next = nextDueAfter(this.entries.values(), now);
    if (next === this.wakeAt) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.wakeAt = next;
    if (next === Infinity) return;
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
    this.publishDepth();
    const attempt = this.attempt(domain, group)
      .catch((err: unknown) => this.deps.log.error({ err, svc: 'queue', domain }, 'delivery attempt failed unexpectedly'))
      .finally(() => {
        this.inFlight -= 1;
        const left = (this.perDomain.get(domain) ?? 1) - 1;
        if (left > 0) this.perDomain.set(domain, left);
        else this.perDomain.delete(domain);
        this.attempts.delete(attempt);
        this.pump();
      });
    this.attempts.add(attempt);
  }

  private async attempt(domain: string, group: Due[]): Promise<void> {
    const messages = outboundMessages(group, (messageId) => this.deps.mail.openMessage(messageId));
    let outcomes: Map<string, DeliveryOutcome[]>;
    try {
      outcomes = await this.deps.agent.deliver(domain, messages, (queueId, outcome) => this.heardAccepted(queueId, outcome));
    } catch (err) {
      this.deps.log.error({ err, svc: 'queue', domain }, 'delivery agent failed');
      outcomes = new Map();
    }
    // Each entry in its own turn; one that cannot be written does not hold up the others.
    await Promise.all(group.map(({ entry, recipients }) => this.turns.run(entry.id, () => this.record(entry, recipients, outcomes.get(entry.id) ?? []))));
  }

  /** Writes an attempt's outcomes for an entry, with a DSN when one is due, then adopts them. Never throws. */
  private async record(entry: QueueEntry, tried: QueueRecipient[], outcomes: DeliveryOutcome[]): Promise<void> {
    const now = this.clock.now();
    // Recipients already recorded as they were accepted (recordAccepted) are done with.
    const indexes = tried.filter((r) => r.state === 'inflight').map((r) => entry.recipients.indexOf(r));
    if (indexes.length === 0) return;
    const next = structuredClone(entry);
    let result: AttemptResult;
    let notice: NoticeSent | null;
    try {
      result = applyOutcomes(next, indexes, outcomes, this.settings, now);
      notice = await this.write(next, result, now);
    } catch (err) {
      this.deps.log.error({ err, svc: 'queue', queueId: entry.id, msgid: entry.messageId }, 'could not record the result of a delivery attempt');
      this.recoverFromFailedWrite(entry, indexes, next, now);
      return;
    }
    for (const { index, detail } of result.changes) {
      const r = entry.recipients[index];
      const after = next.recipients[index];
      if (r && after) this.adoptRecipient(entry, r, after, detail);
    }
    entry.attempts = next.attempts;
    if (next.lastError !== undefined) entry.lastError = next.lastError;
    if (next.warnedAt !== undefined) entry.warnedAt = next.warnedAt;
    this.saved(entry);
    if (notice) await this.announce(notice);
  }

  /** The far side accepted a recipient: write that in the entry's next turn; the agent waits for it. */
  private heardAccepted(queueId: string, outcome: DeliveryOutcome): Promise<void> {
    const waiting = this.accepted.get(queueId);
    if (waiting) {
      waiting.outcomes.push(outcome);
      return waiting.written;
    }
    const outcomes = [outcome];
    const written = this.turns.run(queueId, () => this.recordAccepted(queueId));
    this.accepted.set(queueId, { outcomes, written });
    return written;
  }

  /**
   * Writes the recipients accepted so far as delivered, so a crash later in a long batch cannot send
   * them again. A failed write is only logged: the attempt's own record() writes them at its end.
   */
  private async recordAccepted(queueId: string): Promise<void> {
    const outcomes = this.accepted.get(queueId)?.outcomes ?? [];
    this.accepted.delete(queueId);
    const entry = this.entries.get(queueId);
    if (!entry) return;
    const indexes = entry.recipients.flatMap((r, i) => (r.state === 'inflight' && outcomes.some((o) => o.address === r.address) ? [i] : []));
    if (indexes.length === 0) return;
    const next = structuredClone(entry);
    applyAcceptances(next, indexes, outcomes, this.clock.now());
    try {
      await this.deps.queue.settleQueueEntry(structuredClone(next));
    } catch (err) {
      this.deps.log.error({ err, svc: 'queue', queueId }, 'could not record deliveries yet; retrying at the end of the attempt');
      return;
    }
    for (const index of indexes) {
      const live = entry.recipients[index];
      const written = next.recipients[index];
      if (live && written) this.adoptRecipient(entry, live, written, outcomes.find((o) => o.address === written.address)?.reply);
    }
    this.saved(entry);
  }

  private async write(next: QueueEntry, result: AttemptResult, now: number): Promise<NoticeSent | null> {
    if (result.failed.length > 0) return settleWithNotice(this.notices, next, 'failure', result.failed, now);
    if (result.warning) return settleWithNotice(this.notices, next, 'delay', result.warning.recipients, now, result.warning.retryUntil);
    await this.deps.queue.settleQueueEntry(structuredClone(next));
    return null;
  }

  /** A recipient as written becomes the live one (the same object, which attempts refer to); its new state is announced. */
  private adoptRecipient(entry: QueueEntry, live: QueueRecipient, written: QueueRecipient, detail: string | undefined): void {
    for (const key of OPTIONAL_FIELDS) if (!(key in written)) delete live[key];
    Object.assign(live, written);
    if (written.state === 'delivered') this.lastDeliveryAt = written.updatedAt;
    this.setState(entry, live, written.state, detail);
  }

  /**
   * The store did not take the write: it still has the entry as before the attempt. No recipient may
   * stay in flight. A delivery is kept (asking the far side again would duplicate it) and written later;
   * a bounce or deferral becomes a deferral, so a bounce is decided again, with its DSN, next time.
   */
  private recoverFromFailedWrite(entry: QueueEntry, indexes: number[], next: QueueEntry, now: number): void {
    for (const index of indexes) {
      const live = entry.recipients[index];
      const tried = next.recipients[index];
      if (!live || live.state !== 'inflight') continue;
      if (tried?.state === 'delivered') {
        this.adoptRecipient(entry, live, tried, 'delivered; the result could not be recorded yet');
        continue;
      }
      live.attempts += 1;
      live.updatedAt = now;
      live.nextAttemptAt = now + retryDelayMs(this.settings, live.attempts);
      if (tried?.lastError) live.lastError = tried.lastError;
      if (tried?.remoteMta) live.remoteMta = tried.remoteMta;
      this.setState(entry, live, 'deferred', `${live.lastError ?? 'attempt made'}; the result could not be recorded`);
    }
    entry.nextAttemptAt = earliestAttempt(entry, now);
    this.scheduleRewrite(entry.id, now);
    this.publishDepth();
  }

  private scheduleRewrite(id: string, now: number): void {
    this.unsaved.get(id)?.();
    this.unsaved.delete(id);
    if (this.stopped) return;
    const cancel = this.clock.at(now + this.settings.retryFirstSeconds * 1000, () => {
      this.rewrite(id).catch((err: unknown) => this.deps.log.error({ err, svc: 'queue', queueId: id }, 'rewriting a queue entry failed unexpectedly'));
    });
    this.unsaved.set(id, cancel);
  }

  /** Writes an entry whose last write failed as it now stands in memory. */
  private async rewrite(id: string): Promise<void> {
    await this.turns.run(id, async () => {
      const entry = this.entries.get(id);
      if (!entry || !this.unsaved.has(id) || this.stopped) return;
      try {
        await this.deps.queue.settleQueueEntry(structuredClone(entry));
      } catch (err) {
        this.deps.log.error({ err, svc: 'queue', queueId: id }, 'could not write a queue entry again');
        this.scheduleRewrite(id, this.clock.now());
        return;
      }
      this.saved(entry);
    });
  }

  /** After a successful write of the whole entry: it is no longer owed a write, and may be done. */
  private saved(entry: QueueEntry): void {
    this.unsaved.get(entry.id)?.();
    this.unsaved.delete(entry.id);
    entry.nextAttemptAt = earliestAttempt(entry, this.clock.now());
    const done = entry.recipients.every((r) => r.state === 'delivered' || r.state === 'bounced');
    if (done) this.forget(entry.id);
    else this.publishDepth();
  }

  private forget(id: string): void {
    this.unsaved.get(id)?.();
    this.unsaved.delete(id);
    this.entries.delete(id);
    this.publishDepth();
  }

  /** A DSN that went into the queue is a new entry: tell the bus, as SMTP does for the messages it queues. */
  private async announce(notice: NoticeSent): Promise<void> {
    if (!notice.queueId) return;
    try {
      const entry = await this.deps.queue.getQueueEntry(notice.queueId);
      if (entry) this.deps.bus.emit('message.queued', { queueId: entry.id, messageId: entry.messageId, recipients: entry.recipients.map((r) => r.address) });
    } catch (err) {
      this.deps.log.error({ err, svc: 'queue', msgid: notice.messageId }, 'could not read the queued DSN; it goes out after the next start');
    }
  }

  private setState(entry: QueueEntry, r: QueueRecipient, state: QueueRecipient['state'], detail?: string): void {
    r.state = state;
    this.deps.bus.emit('recipient.state', { queueId: entry.id, recipient: r.address, state, ...(detail ? { detail } : {}) });
    if (state !== 'inflight') this.deps.log.info({ svc: 'queue', queueId: entry.id, msgid: entry.messageId, rcpt: r.address, state, detail }, `recipient ${state}`);
  }

  /** Tells the bus how deep the queue is, when that changed. */
  private publishDepth(): void {
    const depth = queueDepth(this.entries.values());
    const key = `${depth.messages}/${depth.recipients}/${depth.deferred}`;
    if (key === this.lastDepth) return;
    this.lastDepth = key;
    this.deps.bus.emit('queue.depth', depth);
  }
}
