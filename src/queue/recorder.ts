// Recording what attempts found, entry by entry, in the entry's turn (scheduler.ts, "Recording"): each
// write is made on a copy of the live entry, adopted only once the store took it; a write that fails
// leaves nothing in flight and is made again later.
import type { Logger } from 'pino';
import type { QueueStore } from '../core/interfaces.js';
import type { DeliveryOutcome, QueueEntry, QueueRecipient } from '../core/types.js';
import type { Clock } from './clock.js';
import type { LiveQueue } from './live.js';
import { settleWithNotice, type NoticeDeps } from './notices.js';
import { applyAcceptances, applyOutcomes, earliestAttempt, type AttemptResult } from './results.js';
import { retryDelayMs, type RetryPolicy } from './retry.js';
import type { Turns } from './turns.js';

export interface RecorderDeps {
  live: LiveQueue;
  turns: Turns;
  notices: NoticeDeps;
  queue: QueueStore;
  log: Logger;
  clock: Clock;
}

export class AttemptRecorder {
  /** Entries whose last write failed, with the cancel of the timer that writes them again. */
  private readonly unsaved = new Map<string, () => void>();
  /** Recipients the far side accepted during attempts, waiting for their entry's turn to be written. */
  private readonly accepted = new Map<string, { outcomes: DeliveryOutcome[]; written: Promise<void> }>();
  private stopped = false;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly deps: RecorderDeps,
  ) {}

  start(): void {
    this.stopped = false;
  }

  /** No more rewrites are scheduled; those pending are cancelled (the store has the entry as before). */
  stop(): void {
    this.stopped = true;
    for (const cancel of this.unsaved.values()) cancel();
    this.unsaved.clear();
  }

  /** Writes an attempt's outcomes for an entry, with a DSN when one is due, then adopts them. Never throws. */
  async record(entry: QueueEntry, tried: QueueRecipient[], outcomes: DeliveryOutcome[]): Promise<void> {
    const now = this.deps.clock.now();
    // Recipients already recorded as they were accepted (recordAccepted) are done with.
    const indexes = tried.filter((r) => r.state === 'inflight').map((r) => entry.recipients.indexOf(r));
    if (indexes.length === 0) return;
    const next = structuredClone(entry);
    let result: AttemptResult;
    try {
      result = applyOutcomes(next, indexes, outcomes, this.policy, now);
      await this.write(next, result, now);
    } catch (err) {
      this.deps.log.error({ err, svc: 'queue', queueId: entry.id, msgid: entry.messageId }, 'could not record the result of a delivery attempt');
      this.recoverFromFailedWrite(entry, indexes, next, now);
      return;
    }
    for (const { index, detail } of result.changes) {
      const r = entry.recipients[index];
      const after = next.recipients[index];
      if (r && after) this.deps.live.adoptRecipient(entry, r, after, detail);
    }
    entry.attempts = next.attempts;
    if (next.lastError !== undefined) entry.lastError = next.lastError;
    if (next.warnedAt !== undefined) entry.warnedAt = next.warnedAt;
    this.saved(entry);
  }

  /** The far side accepted a recipient: write that in the entry's next turn; the agent waits for it. */
  heardAccepted(queueId: string, outcome: DeliveryOutcome): Promise<void> {
    const waiting = this.accepted.get(queueId);
    if (waiting) {
      waiting.outcomes.push(outcome);
      return waiting.written;
    }
    const outcomes = [outcome];
    const written = this.deps.turns.run(queueId, () => this.recordAccepted(queueId));
    this.accepted.set(queueId, { outcomes, written });
    return written;
  }

  /** After a successful write of the whole entry: it is no longer owed a write, and may be done. */
  saved(entry: QueueEntry): void {
    this.unsaved.get(entry.id)?.();
    this.unsaved.delete(entry.id);
    this.deps.live.written(entry, this.deps.clock.now());
  }

  /** The entry left the queue (deleted by the administrator): no write of it is owed any more. */
  forget(id: string): void {
    this.unsaved.get(id)?.();
    this.unsaved.delete(id);
    this.deps.live.forget(id);
  }

  /**
   * Writes the recipients accepted so far as delivered, so a crash later in a long batch cannot send
   * them again. A failed write is only logged: the attempt's own record() writes them at its end.
   */
  private async recordAccepted(queueId: string): Promise<void> {
    const outcomes = this.accepted.get(queueId)?.outcomes ?? [];
    this.accepted.delete(queueId);
    const entry = this.deps.live.get(queueId);
    if (!entry) return;
    const indexes = entry.recipients.flatMap((r, i) => (r.state === 'inflight' && outcomes.some((o) => o.address === r.address) ? [i] : []));
    if (indexes.length === 0) return;
    const next = structuredClone(entry);
    applyAcceptances(next, indexes, outcomes, this.deps.clock.now());
    try {
      await this.deps.queue.settleQueueEntry(structuredClone(next));
    } catch (err) {
      this.deps.log.error({ err, svc: 'queue', queueId }, 'could not record deliveries yet; retrying at the end of the attempt');
      return;
    }
    for (const index of indexes) {
      const live = entry.recipients[index];
      const written = next.recipients[index];
      if (live && written) this.deps.live.adoptRecipient(entry, live, written, outcomes.find((o) => o.address === written.address)?.reply);
    }
    this.saved(entry);
  }

  /** Writes the entry, with a DSN when one is due (committed through the intake, which admits its entry). */
  private async write(next: QueueEntry, result: AttemptResult, now: number): Promise<void> {
    const { notices } = this.deps;
    if (result.failed.length > 0) return void (await settleWithNotice(notices, next, 'failure', result.failed, now));
    if (result.warning) return void (await settleWithNotice(notices, next, 'delay', result.warning.recipients, now, result.warning.retryUntil));
    await this.deps.queue.settleQueueEntry(structuredClone(next));
  }

  /**
   * The store did not take the write: it still has the entry as before the attempt. No recipient may
   * stay in flight. A delivery is kept (asking the far side again would duplicate it) and written later;
   * a bounce or deferral becomes a deferral, so a bounce is decided again, with its DSN, next time.
   */
  private recoverFromFailedWrite(entry: QueueEntry, indexes: number[], next: QueueEntry, now: number): void {
    const { live } = this.deps;
    for (const index of indexes) {
      const r = entry.recipients[index];
      const tried = next.recipients[index];
      if (!r || r.state !== 'inflight') continue;
      if (tried?.state === 'delivered') {
        live.adoptRecipient(entry, r, tried, 'delivered; the result could not be recorded yet');
        continue;
      }
      r.attempts += 1;
      r.updatedAt = now;
      r.nextAttemptAt = now + retryDelayMs(this.policy, r.attempts);
      if (tried?.lastError) r.lastError = tried.lastError;
      if (tried?.status) r.status = tried.status;
      if (tried?.remoteMta) r.remoteMta = tried.remoteMta;
      live.setState(entry, r, 'deferred', `${r.lastError ?? 'attempt made'}; the result could not be recorded`);
    }
    entry.nextAttemptAt = earliestAttempt(entry, now);
    this.scheduleRewrite(entry.id, now);
    live.publishDepth();
  }

  private scheduleRewrite(id: string, now: number): void {
    this.unsaved.get(id)?.();
    this.unsaved.delete(id);
    if (this.stopped) return;
    const cancel = this.deps.clock.at(now + this.policy.retryFirstSeconds * 1000, () => {
      this.rewrite(id).catch((err: unknown) => this.deps.log.error({ err, svc: 'queue', queueId: id }, 'rewriting a queue entry failed unexpectedly'));
    });
    this.unsaved.set(id, cancel);
  }

  /** Writes an entry whose last write failed as it now stands in memory. */
  private async rewrite(id: string): Promise<void> {
    await this.deps.turns.run(id, async () => {
      const entry = this.deps.live.get(id);
      if (!entry || !this.unsaved.has(id) || this.stopped) return;
      try {
        await this.deps.queue.settleQueueEntry(structuredClone(entry));
      } catch (err) {
        this.deps.log.error({ err, svc: 'queue', queueId: id }, 'could not write a queue entry again');
        this.scheduleRewrite(id, this.deps.clock.now());
        return;
      }
      this.saved(entry);
    });
  }
}
