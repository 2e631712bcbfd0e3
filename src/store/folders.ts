// FolderStore on the LevelDB store: a user's folders (create, delete, rename, subscribe, quota use) here,
// the entries in them in folder-entries.ts. Every change is one batch through the write lane, announced
// to onChange listeners once durable (lane.ts).
import type { Readable } from 'node:stream';
import { LetterboxError } from '../core/errors.js';
import type { FolderStore, MessageWriter } from '../core/interfaces.js';
import type { Folder, FolderChange, FolderEntry, QuotaUsage } from '../core/types.js';
import type { Sublevels } from './db.js';
import { addEntry, checkQuota, FolderEntries, folderOf, storedFlags, transferEntries } from './folder-entries.js';
import { canonicalName, INBOX, isInferior, SPECIAL_USES, superiorNames, validFolderName } from './folder-names.js';
import { folderRange } from './ids.js';
import type { LaneTxn, WriteLane } from './lane.js';
import { ChunkedMessageWriter, openMessage, openMessageRange } from './messages.js';
import type { FolderEntryRecord, UserRecord } from './records.js';

export class StoreFolders implements FolderStore {
  readonly entries: FolderEntries;

  constructor(
    private readonly sub: Sublevels,
    private readonly lane: WriteLane,
  ) {
    this.entries = new FolderEntries(sub, lane);
  }

  /** Refuses an unknown user (NOT_FOUND); makes the default folders of one who lacks them. */
  private async ready(user: string): Promise<void> {
    if (this.lane.folders.get(user, INBOX)) return;
    if (!(await this.sub.users.get(user))) throw new LetterboxError('NOT_FOUND', `no such user: ${user}`);
    await this.lane.run(async (txn) => txn.ensureDefaultFolders(user));
  }

  async listFolders(user: string): Promise<Folder[]> {
    await this.ready(user);
    const folders = [...this.lane.folders.foldersOf(user)].map(([name, record]) => folderOf(user, name, record));
    // INBOX first, the rest by name (code point order, so a parent comes before its children).
    return folders.sort((a, b) => (a.name === INBOX ? -1 : b.name === INBOX ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async getFolder(user: string, name: string): Promise<Folder | null> {
    await this.ready(user);
    const canonical = canonicalName(name);
    const record = this.lane.folders.get(user, canonical);
    return record ? folderOf(user, canonical, record) : null;
  }

  async createFolder(user: string, name: string, specialUse: string | null = null): Promise<Folder> {
    const canonical = validFolderName(name);
    if (specialUse !== null && !SPECIAL_USES.has(specialUse)) throw new LetterboxError('INVALID', `not a special use: ${specialUse}`);
    await this.ready(user);
    let folder: Folder | undefined;
    await this.lane.run(async (txn) => {
      if (txn.folder(user, canonical)) throw new LetterboxError('ALREADY_EXISTS', `folder ${canonical} already exists`);
      // RFC 3501 6.3.3: the server SHOULD create the superiors a name needs.
      makeSuperiors(txn, user, canonical);
      folder = folderOf(user, canonical, txn.newFolder(user, canonical, specialUse, false));
    });
    return folder as Folder;
  }

  async deleteFolder(user: string, name: string): Promise<void> {
    const canonical = canonicalName(name);
    if (canonical === INBOX) throw new LetterboxError('INVALID', 'INBOX cannot be deleted');
    await this.ready(user);
    await this.lane.run(async (txn) => {
      const record = txn.folder(user, canonical);
      if (!record) throw new LetterboxError('NOT_FOUND', `no folder ${canonical}`);
      // RFC 3501 6.3.4: its inferiors stay.
      await this.entries.clear(txn, record.id);
      txn.writeFolder(user, canonical, null);
      txn.announce({ kind: 'deleted', user, folderId: record.id });
    });
  }

  async renameFolder(user: string, from: string, to: string): Promise<void> {
    const source = canonicalName(from);
    const target = validFolderName(to);
    await this.ready(user);
    await this.lane.run(async (txn) => {
      if (!txn.folder(user, source)) throw new LetterboxError('NOT_FOUND', `no folder ${source}`);
      if (txn.folder(user, target)) throw new LetterboxError('ALREADY_EXISTS', `folder ${target} already exists`);
      // INBOX's inferiors stay where they are, so INBOX may become one of them.
      if (source !== INBOX && isInferior(target, source)) throw new LetterboxError('INVALID', `${source} cannot be renamed to a name below itself`);
      makeSuperiors(txn, user, target);
      if (source === INBOX) await this.renameInbox(txn, user, target);
      else renameTree(txn, user, source, target);
    });
  }

  /**
   * RFC 3501 6.3.5: renaming INBOX moves its messages into a new folder of the new name (new UIDs from
   * 1) and leaves INBOX there, empty; its inferiors are not renamed.
   */
  private async renameInbox(txn: LaneTxn, user: string, target: string): Promise<void> {
    const record = txn.folder(user, INBOX);
    if (!record) throw new LetterboxError('NOT_FOUND', 'no INBOX');
    const inbox = { user, name: INBOX, record };
    const created = txn.newFolder(user, target, null, false);
    const entries: FolderEntry[] = [];
    for await (const [key, value] of this.sub.entries.iterator(folderRange(inbox.record.id))) {
      entries.push({ uid: Number(key.slice(inbox.record.id.length + 1)), ...(value as FolderEntryRecord) });
    }
    await transferEntries(txn, this.sub, inbox, entries, { user, name: target, record: created }, true);
  }

  async setSubscribed(user: string, name: string, subscribed: boolean): Promise<void> {
    const canonical = canonicalName(name);
    await this.ready(user);
    await this.lane.run(async (txn) => {
      const record = txn.folder(user, canonical);
      if (!record) throw new LetterboxError('NOT_FOUND', `no folder ${canonical}`);
      record.subscribed = subscribed;
    });
  }

  listEntries(folderId: string): Promise<FolderEntry[]> {
    return this.entries.listEntries(folderId);
  }

  async messageIndexes(messageIds: readonly string[]): Promise<(unknown | null)[]> {
    if (messageIds.length === 0) return [];
    const found = await this.sub.indexes.getMany([...messageIds]);
    return found.map((index) => index ?? null);
  }

  async messageSummaries(messageIds: readonly string[]): Promise<(string | null)[]> {
    if (messageIds.length === 0) return [];
    const found = (await this.sub.summaries.getMany([...messageIds])) as (string | undefined)[];
    return found.map((summary) => summary ?? null);
  }

  /** In the write lane, so that a summary is never written after its message was deleted. */
  async saveSummaries(summaries: readonly { messageId: string; summary: string }[]): Promise<void> {
    if (summaries.length === 0) return;
    await this.lane.run(async (txn) => {
      const stored = await this.sub.messages.getMany(summaries.map((s) => s.messageId));
      summaries.forEach(({ messageId, summary }, i) => {
        if (stored[i] !== undefined && typeof summary === 'string') txn.batch.put(this.sub.summaries, messageId, summary);
      });
    });
  }

  readMessage(messageId: string, range?: { start: number; end: number }): Readable {
    return range ? openMessageRange(this.sub, messageId, range.start, range.end) : openMessage(this.sub, messageId);
  }

  async append(user: string, folder: string, writer: MessageWriter, options: { flags: string[]; internalDate?: number }): Promise<{ folder: Folder; entry: FolderEntry }> {
    if (!(writer instanceof ChunkedMessageWriter)) throw new LetterboxError('INVALID', 'append takes a message written by this store (createMessage)');
    const name = canonicalName(folder);
    await this.ready(user);
    const now = Date.now();
    let appended: { folder: Folder; entry: FolderEntry } | undefined;
    await writer.commitWith(now, async (txn, message) => {
      const record = txn.folder(user, name);
      if (!record) throw new LetterboxError('NOT_FOUND', `no folder ${name}`);
      await checkQuota(txn, this.sub, user, writer.size);
      const entry = addEntry(txn, this.sub, user, name, { messageId: writer.messageId, size: writer.size, flags: storedFlags(options.flags), internalDate: options.internalDate ?? now });
      message.refs += 1;
      appended = { folder: folderOf(user, name, record), entry };
    });
    return appended as { folder: Folder; entry: FolderEntry };
  }

  setFlags(folderId: string, changes: readonly { uid: number; flags: string[] }[], options?: { unchangedSince?: number; origin?: unknown }): Promise<{ changed: FolderEntry[]; conflicts: number[] }> {
    return this.entries.setFlags(folderId, changes, options);
  }

  expunge(folderId: string, uids: readonly number[]): Promise<number[]> {
    return this.entries.expunge(folderId, uids);
  }

  copy(folderId: string, uids: readonly number[], targetFolderId: string, move: boolean): Promise<{ uidValidity: number; pairs: [number, number][] }> {
    return this.entries.copy(folderId, uids, targetFolderId, move);
  }

  vanishedSince(folderId: string, modseq: number): Promise<number[]> {
    return this.entries.vanishedSince(folderId, modseq);
  }

  async usage(user: string): Promise<QuotaUsage> {
    const record = (await this.sub.users.get(user)) as UserRecord | undefined;
    if (!record) throw new LetterboxError('NOT_FOUND', `no such user: ${user}`);
    let bytes = 0;
    let messages = 0;
    for (const folder of this.lane.folders.foldersOf(user).values()) {
      bytes += folder.bytes;
      messages += folder.messages;
    }
    return { bytes, messages, quota: record.quota };
  }

  onChange(listener: (change: FolderChange) => void): () => void {
    return this.lane.onChange(listener);
  }

  /** Deletes every folder of a user with its entries, releasing the messages (Directory.deleteUser). */
  async dropUser(txn: LaneTxn, user: string): Promise<void> {
    for (const name of txn.folderNames(user)) {
      const record = txn.folder(user, name);
      if (!record) continue;
      await this.entries.clear(txn, record.id);
      txn.writeFolder(user, name, null);
      txn.announce({ kind: 'deleted', user, folderId: record.id });
    }
  }
}

function makeSuperiors(txn: LaneTxn, user: string, name: string): void {
  for (const superior of superiorNames(name)) if (!txn.folder(user, superior)) txn.newFolder(user, superior, null, false);
}

/** Renames a folder and its inferiors, keeping their records (ids, UIDVALIDITY) whole (RFC 3501 6.3.5). */
function renameTree(txn: LaneTxn, user: string, source: string, target: string): void {
  const moving = txn.folderNames(user).filter((name) => name === source || isInferior(name, source));
  const renames = moving.map((name) => ({ name, to: target + name.slice(source.length) }));
  for (const { to } of renames) if (txn.folder(user, to)) throw new LetterboxError('ALREADY_EXISTS', `folder ${to} already exists`);
  for (const { name, to } of renames) {
    const record = txn.folder(user, name);
    if (!record) continue;
    txn.writeFolder(user, name, null);
    txn.writeFolder(user, to, record);
    txn.announce({ kind: 'renamed', user, folderId: record.id, name: to });
  }
}
