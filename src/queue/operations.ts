// The administrator's queue operations (`letterbox queue retry|delete|bounce`), on the store. The
// scheduler uses them while it runs; the CLI uses OfflineQueue when `serve` does not run.
import type { Logger } from 'pino';
import type { Directory, MailStore, QueueControl, QueueStore } from '../core/interfaces.js';
import type { QueueEntry } from '../core/types.js';
import { LetterboxError } from '../core/errors.js';
import type { Clock } from './clock.js';
import { Intake } from './intake.js';
import { settleWithNotice, type NoticeDeps, type NoticeSent } from './notices.js';

export interface OfflineDeps {
  queue: QueueStore;
  mail: MailStore;
  directory: Directory;
  log: Logger;
  hostname: string;
}

const BOUNCED_BY_ADMIN = '550 5.0.0 Message returned by the administrator';

export class QueueOperations {
  constructor(
    private readonly deps: NoticeDeps,
    private readonly clock: Clock,
  ) {}

  notFound(id: string): LetterboxError {
    return new LetterboxError('NOT_FOUND', `no queue entry ${id}`);
  }

  async remove(id: string): Promise<void> {
    await this.deps.queue.deleteQueueEntry(id);
    this.deps.log.info({ svc: 'queue', queueId: id }, 'queue entry deleted by the administrator');
  }

  /** Bounces every pending recipient of `entry` (changing it in place) with a DSN to the sender. */
  async bounceEntry(entry: QueueEntry): Promise<NoticeSent | null> {
    const now = this.clock.now();
    const failed = entry.recipients.filter((r) => r.state === 'queued' || r.state === 'deferred');
    for (const r of failed) {
      r.state = 'bounced';
      r.lastError = BOUNCED_BY_ADMIN;
      r.status = '5.0.0';
      r.updatedAt = now;
    }
    const notice = await settleWithNotice(this.deps, entry, 'failure', failed, now);
    this.deps.log.info({ svc: 'queue', queueId: entry.id, recipients: failed.map((r) => r.address) }, 'queue entry bounced by the administrator');
    return notice;
  }
}

/** Queue control straight on the store, for when the service is not running. */
export class OfflineQueue implements QueueControl {
  private readonly ops: QueueOperations;

  constructor(
    private readonly deps: OfflineDeps,
    private readonly clock: Clock,
  ) {
    // Nothing runs to be woken: a DSN queued here goes out when the service next starts.
    const intake = new Intake(deps.directory, () => {});
    this.ops = new QueueOperations({ ...deps, intake }, clock);
  }

  async listQueue(): Promise<QueueEntry[]> {
    return (await this.deps.queue.listQueue()).map(asStopped);
  }

  async retry(id?: string): Promise<number> {
    const entries = id ? [await this.get(id)] : await this.deps.queue.listQueue();
    const now = this.clock.now();
    for (const entry of entries) {
      for (const r of entry.recipients) if (r.state === 'deferred') r.nextAttemptAt = now;
      entry.nextAttemptAt = now;
      await this.deps.queue.settleQueueEntry(entry);
    }
    return entries.length;
  }

  async remove(id: string): Promise<void> {
    await this.get(id);
    await this.ops.remove(id);
  }

  async bounce(id: string): Promise<void> {
    await this.ops.bounceEntry(await this.get(id));
  }

  private async get(id: string): Promise<QueueEntry> {
    const entry = await this.deps.queue.getQueueEntry(id);
    if (!entry) throw this.ops.notFound(id);
    return asStopped(entry);
  }
}

/**
 * An entry as it stands while nothing delivers: a recipient stored `inflight` (an attempt that a stop or
 * a crash cut short, or another recipient's write during one) is waiting to be tried, as the scheduler
 * takes it at start. Otherwise `bounce` would leave it out and the entry would linger.
 */
function asStopped(entry: QueueEntry): QueueEntry {
  for (const r of entry.recipients) if (r.state === 'inflight') r.state = 'queued';
  return entry;
}
