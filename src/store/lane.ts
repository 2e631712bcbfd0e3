// The write lane: every change to mailbox counters (uidNext, message count, bytes) and to message
// reference counts goes through here, one batch at a time, so read-modify-write never races. Groupable
// jobs (message commits, queue state writes) that arrive while a batch is being synced share the next
// batch (group commit): with 20 clients sending at once, one fsync acknowledges many messages. Jobs in
// one batch see each other's counters and reference counts through the LaneTxn.
import type { Level } from 'level';
import { Batch } from './batch.js';
import type { Sublevels } from './db.js';
import { SEP, chunkRange } from './ids.js';
import type { NameSync } from './name-sync.js';
import type { MailboxRecord, MessageRecord } from './records.js';
import type { QueueEntry } from '../core/types.js';

/** Pending writes of one batch, with the mailbox counters as they will be once it is written. */
export class LaneTxn {
  readonly batch: Batch;
  private readonly touched = new Map<string, MailboxRecord>();
  private readonly released = new Map<string, MessageRecord>();

  constructor(
    db: Level<string, unknown>,
    private readonly sub: Sublevels,
    private readonly cache: Map<string, MailboxRecord>,
  ) {
    this.batch = new Batch(db);
  }

  /** Current counters of a mailbox (creating it when absent), to be changed in place and saved with the batch. */
  async mailbox(user: string, name: string): Promise<MailboxRecord> {
    const key = `${user}${SEP}${name}`;
    let record = this.touched.get(key);
    if (record) return record;
    const known = this.cache.get(key) ?? ((await this.sub.mailboxes.get(key)) as MailboxRecord | undefined);
    record = known
      ? { ...known }
      : { uidValidity: Math.floor(Date.now() / 1000), uidNext: 1, messages: 0, bytes: 0 };
    this.touched.set(key, record);
    return record;
  }

  forgetMailbox(user: string, name: string): void {
    const key = `${user}${SEP}${name}`;
    this.touched.delete(key);
    this.cache.delete(key);
    this.batch.del(this.sub.mailboxes, key);
  }

  /**
   * Writes where a queue entry stands: saved while a recipient is pending; removed, with its reference
   * on the message, once every recipient is delivered or bounced.
   */
  async settle(entry: QueueEntry): Promise<void> {
    const final = entry.recipients.every((r) => r.state === 'delivered' || r.state === 'bounced');
    if (!final) return void this.batch.put(this.sub.queue, entry.id, entry);
    this.batch.del(this.sub.queue, entry.id);
    await this.releaseMessage(entry.messageId);
  }

  /**
   * Drops one reference to a message; the last one deletes its record and bodies. Records read here
   * are kept for the whole batch, so jobs grouped into it see each other's changes.
   */
  async releaseMessage(messageId: string): Promise<void> {
    const record = this.released.get(messageId) ?? ((await this.sub.messages.get(messageId)) as MessageRecord | undefined);
    if (!record || record.refs <= 0) return;
    record.refs -= 1;
    this.released.set(messageId, record);
    if (record.refs > 0) {
      this.batch.put(this.sub.messages, messageId, record);
      return;
    }
    this.batch.del(this.sub.messages, messageId);
    for await (const key of this.sub.bodies.keys(chunkRange(messageId))) this.batch.del(this.sub.bodies, key);
  }

  /** Adds the touched mailbox records to the batch; called once, just before writing. */
  seal(): Map<string, MailboxRecord> {
    for (const [key, record] of this.touched) this.batch.put(this.sub.mailboxes, key, record);
    return this.touched;
  }
}

type Job = { build: (txn: LaneTxn) => Promise<void>; done: (err?: unknown) => void; groupable: boolean };

export class WriteLane {
  private readonly jobs: Job[] = [];
  private readonly cache = new Map<string, MailboxRecord>();
  private draining = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    private readonly db: Level<string, unknown>,
    private readonly sub: Sublevels,
    private readonly names: NameSync,
  ) {}

  /**
   * Runs `build` to add operations to a batch and writes it durably. With `groupable`, other groupable
   * jobs waiting at that moment share the batch (and its fsync); a failure then fails them all, which
   * is right: none of them was acknowledged.
   */
  run(build: (txn: LaneTxn) => Promise<void>, groupable = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.jobs.push({ build, groupable, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.draining) void this.drain();
    });
  }

  /** Resolves when every job submitted so far has finished. */
  settled(): Promise<void> {
    return this.draining ? this.idle : Promise.resolve();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    while (this.jobs.length > 0) {
      const first = this.jobs.shift() as Job;
      const group = [first];
      while (first.groupable && this.jobs[0]?.groupable && group.length < 256) group.push(this.jobs.shift() as Job);
      await this.writeGroup(group);
    }
    this.draining = false;
    this.markIdle();
  }

  private async writeGroup(group: Job[]): Promise<void> {
    const txn = new LaneTxn(this.db, this.sub, this.cache);
    const built: Job[] = [];
    for (const job of group) {
      try {
        await job.build(txn);
        built.push(job);
      } catch (err) {
        // The failed job may have left operations in this batch: build the others again without it.
        // Builds only read the store and fill the batch, so running one twice is harmless.
        return this.retryWithout(group, job, err);
      }
    }
    try {
      const touched = txn.seal();
      await txn.batch.write(true);
      // The batch is in LevelDB's log; the log's name must be durable too before anyone hears "done".
      await this.names.settle();
      for (const [key, record] of touched) this.cache.set(key, record);
      for (const job of built) job.done();
    } catch (err) {
      for (const job of built) job.done(err);
    }
  }

  private async retryWithout(group: Job[], failed: Job, err: unknown): Promise<void> {
    failed.done(err);
    const rest = group.filter((job) => job !== failed);
    if (rest.length > 0) await this.writeGroup(rest);
  }
}
