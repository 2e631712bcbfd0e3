// The write lane: every change to folder records (uidNext, highestModseq, counters) and to message
// reference counts goes through here, one batch at a time, so read-modify-write never races. Groupable
// jobs (message commits, queue state writes) that arrive while a batch is being synced share the next
// batch (group commit): with 20 clients sending at once, one fsync acknowledges many messages. Jobs in
// one batch see each other's folder records and reference counts through the LaneTxn. Once a batch is
// durable, its folder records go into the in-memory FolderTable and its folder changes are announced
// to the listeners, in order, before any of its jobs resolves.
import type { Level } from 'level';
import { Batch } from './batch.js';
import type { Sublevels } from './db.js';
import { SEP, chunkKey, newId } from './ids.js';
import type { NameSync } from './name-sync.js';
import type { FolderRecord, MessageRecord } from './records.js';
import { LetterboxError } from '../core/errors.js';
import type { FolderChange, QueueEntry } from '../core/types.js';
import { DEFAULT_FOLDERS } from './folder-names.js';
import type { FolderTable, FolderWrites, LocatedFolder } from './folder-table.js';

/** Pending writes of one batch, with the folder records and message records as they will be once it is written. */
export class LaneTxn {
  readonly batch: Batch;
  /** Folder changes to announce once the batch is durable, in the order they were made. */
  readonly changes: FolderChange[] = [];
  private readonly folderWrites: FolderWrites = new Map();
  private readonly messageRecords = new Map<string, MessageRecord>();
  private uidValidity: number;

  constructor(
    db: Level<string, unknown>,
    private readonly sub: Sublevels,
    readonly folders: FolderTable,
  ) {
    this.batch = new Batch(db);
    this.uidValidity = folders.lastUidValidity;
  }

  /** A folder as it stands in this batch (a copy to change in place; saved with the batch), or undefined. */
  folder(user: string, name: string): FolderRecord | undefined {
    const names = this.folderWrites.get(user);
    if (names?.has(name)) return names.get(name) ?? undefined;
    const known = this.folders.get(user, name);
    if (!known) return undefined;
    const copy = { ...known };
    this.writeFolder(user, name, copy);
    return copy;
  }

  /** A folder by id, as it stands in this batch. */
  folderById(id: string): LocatedFolder | undefined {
    for (const [user, names] of this.folderWrites) {
      for (const [name, record] of names) if (record?.id === id) return { user, name, record };
    }
    const known = this.folders.locate(id);
    if (!known) return undefined;
    const record = this.folder(known.user, known.name);
    return record && record.id === id ? { user: known.user, name: known.name, record } : undefined;
  }

  /** The user's folder names as they stand in this batch. */
  folderNames(user: string): string[] {
    const names = new Set(this.folders.foldersOf(user).keys());
    for (const [name, record] of this.folderWrites.get(user) ?? []) {
      if (record) names.add(name);
      else names.delete(name);
    }
    return [...names];
  }

  /** Bytes in all the user's folders as they stand in this batch (quota). */
  usedBytes(user: string): number {
    let bytes = 0;
    const names = this.folderWrites.get(user);
    for (const [name, record] of this.folders.foldersOf(user)) if (!names?.has(name)) bytes += record.bytes;
    for (const record of names?.values() ?? []) bytes += record?.bytes ?? 0;
    return bytes;
  }

  /** Makes a new, empty folder (its UIDVALIDITY never given before). */
  newFolder(user: string, name: string, specialUse: string | null, subscribed: boolean): FolderRecord {
    const record: FolderRecord = {
      id: newId(), uidValidity: this.newUidValidity(), uidNext: 1, highestModseq: 1,
      messages: 0, unseen: 0, bytes: 0, specialUse, subscribed, createdAt: Date.now(),
    };
    this.writeFolder(user, name, record);
    return record;
  }

  /** Puts a folder record under a name (a rename keeps the record and its id). */
  writeFolder(user: string, name: string, record: FolderRecord | null): void {
    let names = this.folderWrites.get(user);
    if (!names) this.folderWrites.set(user, (names = new Map()));
    names.set(name, record);
  }

  /** The six default folders, made where missing (a new user, or defensively at first use). */
  ensureDefaultFolders(user: string): void {
    const present = new Set(this.folderNames(user));
    for (const { name, specialUse } of DEFAULT_FOLDERS) if (!present.has(name)) this.newFolder(user, name, specialUse, true);
  }

  /** RFC 3501 2.3.1.1: the seconds of the clock, but always above every value given before. */
  private newUidValidity(): number {
    this.uidValidity = Math.max(Math.floor(Date.now() / 1000), this.uidValidity + 1);
    return this.uidValidity;
  }

  announce(change: FolderChange): void {
    this.changes.push(change);
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

  /** A message's record as it stands in this batch (kept for the whole batch, so grouped jobs see each other's changes). */
  async messageRecord(messageId: string): Promise<MessageRecord | undefined> {
    const known = this.messageRecords.get(messageId);
    if (known) return known;
    const record = (await this.sub.messages.get(messageId)) as MessageRecord | undefined;
    if (record) this.messageRecords.set(messageId, record);
    return record;
  }

  /** Reads the records of many messages at once (an EXPUNGE of thousands), for the calls that follow. */
  async loadMessageRecords(messageIds: readonly string[]): Promise<void> {
    const missing = [...new Set(messageIds)].filter((id) => !this.messageRecords.has(id));
    if (missing.length === 0) return;
    const records = (await this.sub.messages.getMany(missing)) as (MessageRecord | undefined)[];
    records.forEach((record, i) => {
      if (record) this.messageRecords.set(missing[i] as string, record);
    });
  }

  /** Adds `count` references to a stored message (a copy into another folder). */
  async retainMessage(messageId: string, count = 1): Promise<void> {
    const record = await this.messageRecord(messageId);
    if (!record) throw new LetterboxError('NOT_FOUND', `message ${messageId} is not stored`);
    record.refs += count;
    this.batch.put(this.sub.messages, messageId, record);
  }

  /** Drops one reference to a message; the last one deletes its record, bodies and index. */
  async releaseMessage(messageId: string): Promise<void> {
    const record = await this.messageRecord(messageId);
    if (!record || record.refs <= 0) return;
    record.refs -= 1;
    if (record.refs > 0) {
      this.batch.put(this.sub.messages, messageId, record);
      return;
    }
    this.batch.del(this.sub.messages, messageId);
    this.batch.del(this.sub.indexes, messageId);
    this.batch.del(this.sub.summaries, messageId);
    // The record knows its chunks; one more than it says (never seen) would be an orphan the check deletes.
    for (let i = 0; i < record.chunks; i++) this.batch.del(this.sub.bodies, chunkKey(messageId, i));
  }

  /** Adds the touched folder records to the batch; called once, just before writing. */
  seal(): FolderWrites {
    for (const [user, names] of this.folderWrites) {
      for (const [name, record] of names) {
        const stored = this.folders.get(user, name);
        // A folder only looked at is not written again (an EXPUNGE with nothing to expunge costs no write).
        if (record && stored && sameFolder(record, stored)) continue;
        if (record) this.batch.put(this.sub.folders, `${user}${SEP}${name}`, record);
        else if (stored) this.batch.del(this.sub.folders, `${user}${SEP}${name}`);
      }
    }
    if (this.uidValidity !== this.folders.lastUidValidity) this.batch.put(this.sub.meta, 'uidValidity', this.uidValidity);
    return this.folderWrites;
  }

  /** The UIDVALIDITY counter as this batch leaves it. */
  get lastUidValidity(): number {
    return this.uidValidity;
  }
}

function sameFolder(a: FolderRecord, b: FolderRecord): boolean {
  return (Object.keys(a) as (keyof FolderRecord)[]).every((key) => a[key] === b[key]) && Object.keys(a).length === Object.keys(b).length;
}

type Job = { build: (txn: LaneTxn) => Promise<void>; done: (err?: unknown) => void; groupable: boolean };

export class WriteLane {
  private readonly jobs: Job[] = [];
  private readonly listeners = new Set<(change: FolderChange) => void>();
  private draining = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    private readonly db: Level<string, unknown>,
    private readonly sub: Sublevels,
    private readonly names: NameSync,
    readonly folders: FolderTable,
  ) {}

  /** Calls `listener` with every folder change once durable; returns the function that stops it. */
  onChange(listener: (change: FolderChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

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
    const txn = new LaneTxn(this.db, this.sub, this.folders);
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
      // Written, so readers of LevelDB see it: the folder records in memory must say the same at once
      // (a uidNext left behind would give a UID twice), even if what follows fails.
      this.folders.apply(touched);
      this.folders.lastUidValidity = txn.lastUidValidity;
      // The batch is in LevelDB's log; the log's name must be durable too before anyone hears "done".
      await this.names.settle();
    } catch (err) {
      for (const job of built) job.done(err);
      return;
    }
    this.announce(txn.changes);
    for (const job of built) job.done();
  }

  private announce(changes: FolderChange[]): void {
    for (const change of changes) {
      for (const listener of [...this.listeners]) {
        try {
          listener(change);
        } catch {
          // Listeners must not throw (FolderStore.onChange); one that does must not stop the others.
        }
      }
    }
  }

  private async retryWithout(group: Job[], failed: Job, err: unknown): Promise<void> {
    failed.done(err);
    const rest = group.filter((job) => job !== failed);
    if (rest.length > 0) await this.writeGroup(rest);
  }
}
