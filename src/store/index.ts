// The store: opens LevelDB, sweeps what a crash left, and implements the core contracts on it.
import type { Readable } from 'node:stream';
import type { Level } from 'level';
import type { MailStore, MessageWriter, QueueStore } from '../core/interfaces.js';
import type { MailboxEntry, QueueEntry, StoredMessage } from '../core/types.js';
import { openDb, type Sublevels } from './db.js';
import { StoreDirectory } from './directory.js';
import { SEP } from './ids.js';
import { WriteLane } from './lane.js';
import { ChunkedMessageWriter, openMessage, sweepPending } from './messages.js';
import type { EntryRecord, MessageRecord } from './records.js';

export { SCHEMA_VERSION, CHUNK_SIZE } from './db.js';

export class Store implements MailStore, QueueStore {
  readonly directory: StoreDirectory;
  private constructor(
    readonly db: Level<string, unknown>,
    readonly sub: Sublevels,
    readonly lane: WriteLane,
    /** How many interrupted transfers were swept when the store opened. */
    readonly swept: number,
  ) {
    this.directory = new StoreDirectory(sub, lane);
  }

  static async open(location: string): Promise<Store> {
    const { db, sub } = await openDb(location);
    const swept = await sweepPending(sub);
    return new Store(db, sub, new WriteLane(db, sub), swept);
  }

  async close(): Promise<void> {
    await this.lane.settled();
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

  async listQueue(): Promise<QueueEntry[]> {
    return (await this.sub.queue.values().all()) as QueueEntry[];
  }

  async getQueueEntry(id: string): Promise<QueueEntry | null> {
    return ((await this.sub.queue.get(id)) as QueueEntry | undefined) ?? null;
  }
}
