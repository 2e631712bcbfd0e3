// The store: opens LevelDB, sweeps what a crash left, and implements the core contracts on it.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { Level } from 'level';
import type { FolderStore, MailStore, MessageWriter, QueueStore, SettingsStore } from '../core/interfaces.js';
import { LetterboxError } from '../core/errors.js';
import type { Folder, FolderChange, FolderEntry, MailboxEntry, QueueEntry, QuotaUsage, StoreCheckReport, StoredMessage } from '../core/types.js';
import { makeDirectoryDurably } from '../core/durable-files.js';
import { checkStore, type CheckOptions } from './check.js';
import { openDb, type OpenOptions, type Sublevels } from './db.js';
import { StoreDirectory } from './directory.js';
import { canonicalName } from './folder-names.js';
import { FolderTable } from './folder-table.js';
import { StoreFolders } from './folders.js';
import { WriteLane } from './lane.js';
import { ChunkedMessageWriter, openMessage, sweepPending } from './messages.js';
import { NameSync } from './name-sync.js';
import { readQueueEntry } from './queue-records.js';
import type { MessageRecord } from './records.js';

export { SCHEMA_VERSION, CHUNK_SIZE } from './db.js';

/** Set in `meta` while a service has the store open; still there at the next open after a crash or a cut. */
const RUNNING = 'running';

export type StoreOptions = OpenOptions;

export class Store implements MailStore, QueueStore, SettingsStore, FolderStore {
  readonly directory: StoreDirectory;
  readonly folders: StoreFolders;
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
    private readonly options: StoreOptions,
  ) {
    this.folders = new StoreFolders(sub, lane);
    this.directory = new StoreDirectory(sub, lane, this.folders);
  }

  /**
   * `indexer`: every message written is indexed as it is written (and by the migration, and the check);
   * `summarize`: its summary is written with it.
   */
  static async open(location: string, options: StoreOptions = {}): Promise<Store> {
    // The store itself is made whole under another name and renamed into place (db.ts).
    await makeDirectoryDurably(dirname(location));
    const { db, sub } = await openDb(location, options);
    const names = new NameSync(location);
    await names.start();
    const swept = await sweepPending(db, sub);
    const uncleanStop = (await sub.meta.get(RUNNING)) !== undefined;
    const lane = new WriteLane(db, sub, names, await FolderTable.load(sub));
    return new Store(db, sub, lane, names, swept, uncleanStop, options);
  }

  /** Marks the store as in use by a service until close(), so the next open knows whether it stopped cleanly. */
  async markRunning(): Promise<void> {
    await this.lane.run(async (txn) => void txn.batch.put(this.sub.meta, RUNNING, { pid: process.pid, since: Date.now() }));
    this.running = true;
  }

  /** Verifies the store's invariants and repairs what fails (check.ts). */
  async check(options: CheckOptions): Promise<StoreCheckReport> {
    const report = await checkStore(this.sub, this.lane, { ...(this.options.indexer ? { indexer: this.options.indexer } : {}), ...options });
    // A repair may change entries outside the lane's rules: no listing may outlive one. (The service
    // checks at every start: a store found consistent keeps its listings.)
    if (!report.consistent) await this.folders.entries.listings.clear();
    return report;
  }

  async close(): Promise<void> {
    await this.lane.settled();
    // Only a service's clean stop leaves listings: its folders are the ones the next start will open.
    if (this.running) await this.folders.entries.listings.saveAll().catch(() => undefined);
    if (this.running) await this.lane.run(async (txn) => void txn.batch.del(this.sub.meta, RUNNING));
    this.running = false;
    await this.db.close();
  }

  async createMessage(options: { binary?: boolean } = {}): Promise<MessageWriter> {
    return new ChunkedMessageWriter(this.db, this.sub, this.lane, this.options.indexer, options.binary === true, this.options.summarize);
  }

  async getMessage(messageId: string): Promise<StoredMessage | null> {
    const record = (await this.sub.messages.get(messageId)) as MessageRecord | undefined;
    return record ? { id: messageId, size: record.size, receivedAt: record.receivedAt } : null;
  }

  openMessage(messageId: string): Readable {
    return openMessage(this.sub, messageId);
  }

  /** The entries of one of a user's folders (MailboxEntry is FolderEntry without its MODSEQ). */
  async listMailbox(user: string, mailbox: string): Promise<MailboxEntry[]> {
    const record = this.lane.folders.get(user, canonicalName(mailbox));
    if (!record) return [];
    return (await this.folders.listEntries(record.id)).map(({ uid, messageId, size, flags, internalDate }) => ({ uid, messageId, size, flags, internalDate }));
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

  // FolderStore, delegated to folders.ts.
  listFolders(user: string): Promise<Folder[]> {
    return this.folders.listFolders(user);
  }

  getFolder(user: string, name: string): Promise<Folder | null> {
    return this.folders.getFolder(user, name);
  }

  createFolder(user: string, name: string, specialUse?: string | null): Promise<Folder> {
    return this.folders.createFolder(user, name, specialUse ?? null);
  }

  deleteFolder(user: string, name: string): Promise<void> {
    return this.folders.deleteFolder(user, name);
  }

  renameFolder(user: string, from: string, to: string): Promise<void> {
    return this.folders.renameFolder(user, from, to);
  }

  setSubscribed(user: string, name: string, subscribed: boolean): Promise<void> {
    return this.folders.setSubscribed(user, name, subscribed);
  }

  listEntries(folderId: string): Promise<FolderEntry[]> {
    return this.folders.listEntries(folderId);
  }

  messageIndexes(messageIds: readonly string[]): Promise<(unknown | null)[]> {
    return this.folders.messageIndexes(messageIds);
  }

  messageSummaries(messageIds: readonly string[]): Promise<(string | null)[]> {
    return this.folders.messageSummaries(messageIds);
  }

  saveSummaries(summaries: readonly { messageId: string; summary: string }[]): Promise<void> {
    return this.folders.saveSummaries(summaries);
  }

  readMessage(messageId: string, range?: { start: number; end: number }): Readable {
    return this.folders.readMessage(messageId, range);
  }

  append(user: string, folder: string, writer: MessageWriter, options: { flags: string[]; internalDate?: number }): Promise<{ folder: Folder; entry: FolderEntry }> {
    return this.folders.append(user, folder, writer, options);
  }

  setFlags(folderId: string, changes: readonly { uid: number; flags: string[] }[], options?: { unchangedSince?: number; origin?: unknown }): Promise<{ changed: FolderEntry[]; conflicts: number[] }> {
    return this.folders.setFlags(folderId, changes, options);
  }

  expunge(folderId: string, uids: readonly number[]): Promise<number[]> {
    return this.folders.expunge(folderId, uids);
  }

  copy(folderId: string, uids: readonly number[], targetFolderId: string, move: boolean): Promise<{ uidValidity: number; pairs: [number, number][] }> {
    return this.folders.copy(folderId, uids, targetFolderId, move);
  }

  vanishedSince(folderId: string, modseq: number): Promise<number[]> {
    return this.folders.vanishedSince(folderId, modseq);
  }

  usage(user: string): Promise<QuotaUsage> {
    return this.folders.usage(user);
  }

  onChange(listener: (change: FolderChange) => void): () => void {
    return this.folders.onChange(listener);
  }
}
