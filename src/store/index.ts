// The store: opens LevelDB, sweeps what a crash left, and implements the core contracts on it.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { Level } from 'level';
import type { MailStore, MessageWriter, QueueStore, SettingsStore } from '../core/interfaces.js';
import { LetterboxError } from '../core/errors.js';
import type { MailboxEntry, QueueEntry, StoreCheckReport, StoredMessage } from '../core/types.js';
import { makeDirectoryDurably } from '../core/durable-files.js';
import { checkStore, type CheckOptions } from './check.js';
import { openDb, type Sublevels } from './db.js';
import { StoreDirectory } from './directory.js';
import { SEP } from './ids.js';
import { WriteLane } from './lane.js';
import { ChunkedMessageWriter, openMessage, sweepPending } from './messages.js';
import { NameSync } from './name-sync.js';
import { readQueueEntry } from './queue-records.js';
import type { EntryRecord, MessageRecord } from './records.js';

export { SCHEMA_VERSION, CHUNK_SIZE } from './db.js';

/** Set in `meta` while a service has the store open; still there at the next open after a crash or a cut. */
const RUNNING = 'running';

export class Store implements MailStore, QueueStore, SettingsStore {
  readonly directory: StoreDirectory;
  private running = false;
  private constructor(
    readonly db: Level<string, unknown>,
    readonly sub: Sublevels,
    readonly lane: WriteLane,
    readonly names: NameSync,
    /** How many interrupted transfers were swept when the store opened. */
    readonly swept: number,
    /** True when the last service to open the store did not close it (a crash, a kill, a power cut). */
    readonly uncleanStop: boolean,
  ) {
    this.directory = new StoreDirectory(sub, lane);
  }

  static async open(location: string): Promise<Store> {
    // The store itself is made whole under another name and renamed into place (db.ts).
    await makeDirectoryDurably(dirname(location));
    const { db, sub } = await openDb(location);
    const names = new NameSync(location);
    await names.start();
    const swept = await sweepPending(db, sub);
    const uncleanStop = (await sub.meta.get(RUNNING)) !== undefined;
    return new Store(db, sub, new WriteLane(db, sub, names), names, swept, uncleanStop);
  }

  /** Marks the store as in use by a service until close(), so the next open knows whether it stopped cleanly. */
  async markRunning(): Promise<void> {
    await this.lane.run(async (txn) => void txn.batch.put(this.sub.meta, RUNNING, { pid: process.pid, since: Date.now() }));
    this.running = true;
  }

  /** Verifies the store's invariants and repairs what fails (check.ts). */
  async check(options: CheckOptions): Promise<StoreCheckReport> {
    return checkStore(this.sub, this.lane, options);
  }

  async close(): Promise<void> {
    await this.lane.settled();
    if (this.running) await this.lane.run(async (txn) => void txn.batch.del(this.sub.meta, RUNNING));
    this.running = false;
    await this.db.close();
  }

  async createMessage(): Promise<MessageWriter> {
    return new ChunkedMessageWriter(this.db, this.sub, this.lane);
  }

  async getMessage(messageId: string): Promise<StoredMessage | null> {
    const record = (await this.sub.messages.get(messageId)) as MessageRecord | undefined;
    return record ? { id: messageId, size: record.size, receivedAt: record.receivedAt } : null;
  }

  openMessage(messageId: string): Readable {
    return openMessage(this.sub, messageId);
  }

  async listMailbox(user: string, mailbox: string): Promise<MailboxEntry[]> {
    const prefix = `${user}${SEP}${mailbox}${SEP}`;
    const entries: MailboxEntry[] = [];
    for await (const [key, value] of this.sub.entries.iterator({ gt: prefix, lt: `${prefix}\uffff` })) {
      const entry = value as EntryRecord;
      entries.push({ uid: Number(key.slice(prefix.length)), ...entry });
    }
    return entries;
  }

  async freeSpace(): Promise<number> {
    const fs = await statfs(this.db.location);
    return fs.bavail * fs.bsize;
  }

  /** Every usable entry, read one at a time (queue-records.ts: malformed ones are left to the check). */
  async listQueue(): Promise<QueueEntry[]> {
    const entries: QueueEntry[] = [];
    for await (const value of this.sub.queue.values()) {
      const entry = readQueueEntry(value);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  async getQueueEntry(id: string): Promise<QueueEntry | null> {
    return readQueueEntry(await this.sub.queue.get(id));
  }

  async settleQueueEntry(entry: QueueEntry): Promise<void> {
    // Grouped with other writes in flight (one fsync for many): the queue writes one per delivery.
    await this.lane.run((txn) => txn.settle(entry), true);
  }

  async deleteQueueEntry(id: string): Promise<void> {
    await this.lane.run(async (txn) => {
      const entry = (await this.sub.queue.get(id)) as QueueEntry | undefined;
      if (!entry) throw new LetterboxError('NOT_FOUND', `no queue entry ${id}`);
      txn.batch.del(this.sub.queue, id);
      await txn.releaseMessage(entry.messageId);
    });
  }

  async getSetting<T>(name: string): Promise<T | undefined> {
    return (await this.sub.settings.get(name)) as T | undefined;
  }

  async putSetting(name: string, value: unknown): Promise<void> {
    await this.lane.run(async (txn) => void txn.batch.put(this.sub.settings, name, value));
  }
}
