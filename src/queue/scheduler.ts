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
// reference on the message (once). Administrator operations on an entry take the same turn
// (recorder.ts does the recording; live.ts holds the live entries).
//
// A recipient the far side accepted is recorded as delivered at once; only a crash between the far
// side's 250 and that write can make it go twice (Postfix has the same window). When the write itself
// fails (a store error), nothing is left in flight: delivered recipients stay delivered in memory, the
// others are deferred (a bounce is owed again at the next attempt, so its DSN is not lost), and the
// entry is written again after the first retry interval.
//
// Interrupting. `queue delete|bounce` of an entry in flight, and a stop whose grace has run out, end the
// attempts concerned at once (the agent drops its connections). What the far side had accepted by then
// is recorded as delivered; the rest was not really tried: it goes back as it was, due now, with no
// attempt counted and nothing written (the store still has it pending). A far side that trickles its
// replies can therefore never hold an administrator's command or a shutdown.
import type { Logger } from 'pino';
import type { DeliveryAgent, Directory, MailIntake, MailStore, QueueControl, QueueStore } from '../core/interfaces.js';
import type { EventBus } from '../core/events.js';
import type { DeliveryOutcome, QueueEntry } from '../core/types.js';
import { LetterboxError } from '../core/errors.js';
import { systemClock, type Clock } from './clock.js';
import type { RetryPolicy } from './retry.js';
import { QueueOperations } from './operations.js';
import { Intake } from './intake.js';
import { LiveQueue } from './live.js';
import { AttemptRecorder } from './recorder.js';
import { earliestAttempt } from './results.js';
import { dueByDomain, nextDueAfter, outboundMessages, type Due } from './due.js';
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
/** After a stop interrupted the attempts still running: how long their recording may take. */
const INTERRUPTED_GRACE_MS = 5_000;

/** One call of the agent: the entries it carries, and how to end it early. */
interface Attempt {
  queueIds: Set<string>;
  controller: AbortController;
  done: Promise<void>;
}

export class QueueScheduler implements QueueControl {
  private readonly clock: Clock;
  private readonly live: LiveQueue;
  private readonly recorder: AttemptRecorder;
  private readonly perDomain = new Map<string, number>();
  private readonly attempts = new Set<Attempt>();
  /** Writes and operations per entry, one at a time. */
  private readonly turns = new Turns();
  /** Entries administrator operations are working on (how many): no attempt starts for them meanwhile. */
  private readonly held = new Map<string, number>();
  private readonly ops: QueueOperations;
  private inFlight = 0;
  private cancelTimer: (() => void) | undefined;
  private wakeAt = Infinity;
  private stopped = true;
  /** While start() reads the store: the queue ids committed meanwhile, admitted once it has. */
  private backlog: string[] | undefined;
  /** The door for new mail that this queue is woken through (SMTP's and its own DSNs). */
  readonly intake: MailIntake;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly deps: SchedulerDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.live = new LiveQueue(deps.bus, deps.log);
    this.intake = new Intake(deps.directory, (queueId) => this.admit(queueId), deps.bus);
    const notices = { ...deps, intake: this.intake, hostname: settings.hostname };
    this.ops = new QueueOperations(notices, this.clock);
    this.recorder = new AttemptRecorder(settings, { live: this.live, turns: this.turns, notices, queue: deps.queue, log: deps.log, clock: this.clock });
  }

  /** When the last recipient was delivered, for `letterbox status`. */
  get lastDeliveryAt(): number | undefined {
    return this.live.lastDeliveryAt;
  }

  async start(): Promise<void> {
    if (!this.stopped || this.backlog) return;
    // A message committed while the store is read is kept in the backlog, then admitted, not missed.
    const backlog: string[] = (this.backlog = []);
    try {
      for (const entry of await this.deps.queue.listQueue()) this.live.load(entry);
      for (const queueId of backlog) {
        const entry = this.live.has(queueId) ? null : await this.deps.queue.getQueueEntry(queueId);
        if (entry) this.live.load(entry);
      }
    } finally {
      this.backlog = undefined;
    }
    this.stopped = false;
    this.recorder.start();
    this.deps.log.info({ svc: 'queue', entries: this.live.size }, 'queue started');
    this.live.publishDepth();
    this.pump();
  }

  /**
   * Stops starting attempts and waits up to `graceMs` for those in flight; then interrupts them (see
   * above) and waits a little more for their recording, if the store is still open by then.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.wakeAt = Infinity;
    this.recorder.stop();
    if (!(await this.settledWithin(graceMs))) {
      this.deps.log.warn({ svc: 'queue', attempts: this.attempts.size }, 'stopping: interrupting the delivery attempts still running');
      for (const attempt of this.attempts) attempt.controller.abort();
      await this.settledWithin(INTERRUPTED_GRACE_MS);
    }
    if (this.attempts.size > 0) this.deps.log.warn({ svc: 'queue', attempts: this.attempts.size }, 'queue stopped with delivery attempts still running');
  }

  async listQueue(): Promise<QueueEntry[]> {
    return [...this.live.values()].map((e) => structuredClone(e));
  }

  async retry(id?: string): Promise<number> {
    const now = this.clock.now();
    const chosen = id ? [this.mustGet(id)] : [...this.live.values()];
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
      this.recorder.forget(id);
    });
  }

  async bounce(id: string): Promise<void> {
    await this.administer(id, async (entry) => {
      const next = structuredClone(entry);
      await this.ops.bounceEntry(next);
      entry.recipients.forEach((r, index) => {
        const after = next.recipients[index];
        if (after && after.state !== r.state) this.live.adoptRecipient(entry, r, after, after.lastError);
      });
      this.recorder.saved(entry);
    });
  }

  /**
   * Runs an administrator operation on an entry in its turn, once no attempt of it is in flight: those
   * running are interrupted, and their recording awaited (the agent may be reading the message's bytes,
   * which must stay until it is done).
   */
  private async administer(id: string, operation: (entry: QueueEntry) => Promise<void>): Promise<void> {
    const entry = this.mustGet(id);
    this.held.set(id, (this.held.get(id) ?? 0) + 1);
    try {
      const carrying = [...this.attempts].filter((a) => a.queueIds.has(id));
      for (const attempt of carrying) attempt.controller.abort();
      await Promise.allSettled(carrying.map((a) => a.done));
      await this.turns.run(id, async () => {
        if (this.live.get(id) !== entry) throw this.ops.notFound(id);
        if (entry.recipients.some((r) => r.state === 'inflight')) {
          throw new LetterboxError('INVALID', `entry ${id} is being delivered right now; try again in a moment`);
        }
        await operation(entry);
      });
    } finally {
      const holds = (this.held.get(id) ?? 1) - 1;
      if (holds > 0) this.held.set(id, holds);
      else this.held.delete(id);
      this.pump();
    }
  }

  private mustGet(id: string): QueueEntry {
    const entry = this.live.get(id);
    if (!entry) throw this.ops.notFound(id);
    return entry;
  }

  /** A new entry was committed (through the intake): it joins the schedule, read back from the store. */
  private admit(queueId: string): void {
    if (this.backlog) this.backlog.push(queueId);
    else void this.readNew(queueId);
  }

  private async readNew(queueId: string): Promise<void> {
    if (this.stopped || this.live.has(queueId)) return;
    let entry: QueueEntry | null;
    try {
      entry = await this.deps.queue.getQueueEntry(queueId);
    } catch (err) {
      // It stays in the store and is picked up at the next start.
      this.deps.log.error({ err, svc: 'queue', queueId }, 'could not read a newly queued entry');
      return;
    }
    if (!entry || this.stopped) return;
    this.live.load(entry);
    this.live.publishDepth();
    this.pump();
  }

  /** Starts every attempt that is due and allowed, then sleeps until the next one is due. */
  private pump(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const [domain, group] of dueByDomain(this.live.values(), (e) => this.held.has(e.id), now)) {
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
    const next = nextDueAfter(this.live.values(), now);
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
      for (const r of recipients) this.live.setState(entry, r, 'inflight');
    }
    this.live.publishDepth();
    const controller = new AbortController();
    const attempt: Attempt = { queueIds: new Set(group.map((d) => d.entry.id)), controller, done: Promise.resolve() };
    attempt.done = this.attempt(domain, group, controller.signal)
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

  private async attempt(domain: string, group: Due[], signal: AbortSignal): Promise<void> {
    const messages = outboundMessages(group, (messageId) => this.deps.mail.openMessage(messageId));
    let outcomes: Map<string, DeliveryOutcome[]>;
    try {
      outcomes = await this.deps.agent.deliver(domain, messages, (queueId, outcome) => this.recorder.heardAccepted(queueId, outcome), signal);
    } catch (err) {
      if (!signal.aborted) this.deps.log.error({ err, svc: 'queue', domain }, 'delivery agent failed');
      outcomes = new Map();
    }
    if (signal.aborted) this.untried(group, outcomes);
    // Each entry in its own turn; one that cannot be written does not hold up the others.
    await Promise.all(group.map(({ entry, recipients }) => this.turns.run(entry.id, () => this.recorder.record(entry, recipients, outcomes.get(entry.id) ?? []))));
  }

  /** An interrupted attempt: what the far side did not accept goes back as it was, due now (see above). */
  private untried(group: Due[], outcomes: Map<string, DeliveryOutcome[]>): void {
    const now = this.clock.now();
    for (const { entry, recipients } of group) {
      const accepted = new Set((outcomes.get(entry.id) ?? []).filter((o) => o.status === 'delivered').map((o) => o.address));
      for (const r of recipients) {
        if (r.state !== 'inflight' || accepted.has(r.address)) continue;
        r.nextAttemptAt = now;
        this.live.setState(entry, r, r.attempts > 0 ? 'deferred' : 'queued', 'attempt interrupted; to be tried again');
      }
      entry.nextAttemptAt = earliestAttempt(entry, now);
    }
    this.live.publishDepth();
  }

  /** True when every attempt and write ended within `ms`. */
  private async settledWithin(ms: number): Promise<boolean> {
    const settled = Promise.allSettled([...[...this.attempts].map((a) => a.done), this.turns.settled()]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([settled, late]);
    clearTimeout(timer);
    return result;
  }
}
