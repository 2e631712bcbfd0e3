// The messages in a folder: append, flags, expunge, copy and move, each one batch through the write lane.
// MODSEQ (RFC 7162 3.1): every change bumps its folder's highestModseq by one, and every entry it
// touches takes that value; an expunged UID is kept in `vanished` with the MODSEQ of its expunge, so
// QRESYNC can tell a client what went while it was away (RFC 7162 3.2.5.1).
import { LetterboxError } from '../core/errors.js';
import type { Folder, FolderEntry } from '../core/types.js';
import type { Sublevels } from './db.js';
import { entryKey, folderRange } from './ids.js';
import type { LaneTxn, WriteLane } from './lane.js';
import type { LocatedFolder } from './folder-table.js';
import type { FolderEntryRecord, FolderRecord, UserRecord } from './records.js';
import { FolderListings, readEntries } from './folder-listings.js';

const SEEN = '\\seen';

/** System flags are case-insensitive (RFC 3501 2.3.2); `\Seen` decides the UNSEEN counter. */
export function isSeen(flags: readonly string[]): boolean {
  return flags.some((flag) => flag.toLowerCase() === SEEN);
}

/** Flags as stored: each once, never `\Recent` (a session state, RFC 3501 2.3.2). */
export function storedFlags(flags: readonly string[]): string[] {
  const seen = new Set<string>();
  return flags.filter((flag) => {
    const key = flag.toLowerCase();
    if (key === '\\recent' || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function folderOf(user: string, name: string, record: FolderRecord): Folder {
  const { id, uidValidity, uidNext, highestModseq, messages, unseen, bytes, specialUse, subscribed } = record;
  return { id, user, name, uidValidity, uidNext, highestModseq, messages, unseen, bytes, specialUse, subscribed };
}

/** Adds an entry under the folder's next UID, as one change of its own (announced `appended`). */
export function addEntry(txn: LaneTxn, sub: Sublevels, user: string, name: string, entry: Omit<FolderEntryRecord, 'modseq'>): FolderEntry {
  const record = txn.folder(user, name);
  if (!record) throw new LetterboxError('NOT_FOUND', `no folder ${name} for ${user}`);
  const added = placeEntries(txn, sub, { user, name, record }, [entry])[0] as FolderEntry;
  txn.announce({ kind: 'appended', user, folderId: record.id, entries: [added], uidNext: record.uidNext, highestModseq: record.highestModseq });
  return added;
}

/** Puts entries under new UIDs in order, all with one new MODSEQ; counters follow. */
function placeEntries(txn: LaneTxn, sub: Sublevels, target: LocatedFolder, entries: readonly Omit<FolderEntryRecord, 'modseq'>[]): FolderEntry[] {
  const record = target.record;
  record.highestModseq += 1;
  return entries.map((entry) => {
    const uid = record.uidNext;
    record.uidNext += 1;
    record.messages += 1;
    record.bytes += entry.size;
    if (!isSeen(entry.flags)) record.unseen += 1;
    const stored: FolderEntryRecord = { messageId: entry.messageId, size: entry.size, flags: entry.flags, internalDate: entry.internalDate, modseq: record.highestModseq };
    txn.batch.put(sub.entries, entryKey(record.id, uid), stored);
    return { uid, ...stored };
  });
}

/** Refuses (TOO_LARGE) `adding` bytes that would take the user past their quota (0: none). */
export async function checkQuota(txn: LaneTxn, sub: Sublevels, user: string, adding: number): Promise<void> {
  const quota = ((await sub.users.get(user)) as UserRecord | undefined)?.quota ?? 0;
  if (quota <= 0) return;
  const used = txn.usedBytes(user);
  if (used + adding > quota) {
    throw new LetterboxError('TOO_LARGE', `over quota: ${user} uses ${used} of ${quota} bytes, and ${adding} more would pass it`);
  }
}

/** The entries of `uids` that are in the folder, in UID order. */
async function presentEntries(sub: Sublevels, folderId: string, uids: readonly number[]): Promise<FolderEntry[]> {
  const wanted = [...new Set(uids)].filter((uid) => Number.isInteger(uid) && uid > 0).sort((a, b) => a - b);
  const values = (await sub.entries.getMany(wanted.map((uid) => entryKey(folderId, uid)))) as (FolderEntryRecord | undefined)[];
  const found: FolderEntry[] = [];
  values.forEach((value, i) => {
    if (value) found.push({ uid: wanted[i] as number, ...value });
  });
  return found;
}

/** Takes entries out of a folder with one new MODSEQ, keeping their UIDs in `vanished`; their references are released. */
async function removeEntries(txn: LaneTxn, sub: Sublevels, source: LocatedFolder, entries: readonly FolderEntry[]): Promise<void> {
  const record = source.record;
  record.highestModseq += 1;
  await txn.loadMessageRecords(entries.map((e) => e.messageId));
  for (const entry of entries) {
    txn.batch.del(sub.entries, entryKey(record.id, entry.uid));
    txn.batch.put(sub.vanished, entryKey(record.id, entry.uid), record.highestModseq);
    record.messages -= 1;
    record.bytes -= entry.size;
    if (!isSeen(entry.flags)) record.unseen -= 1;
    await txn.releaseMessage(entry.messageId);
  }
  txn.announce({ kind: 'expunged', user: source.user, folderId: record.id, uids: entries.map((e) => e.uid), highestModseq: record.highestModseq });
}

/**
 * Copies entries (flags and internal date kept) under new UIDs in the target; with `move`, takes them
 * out of the source in the same batch. Used by COPY/MOVE and by RENAME of INBOX.
 */
export async function transferEntries(txn: LaneTxn, sub: Sublevels, source: LocatedFolder, entries: readonly FolderEntry[], target: LocatedFolder, move: boolean): Promise<[number, number][]> {
  if (entries.length === 0) return [];
  const placed = placeEntries(txn, sub, target, entries);
  await txn.loadMessageRecords(entries.map((e) => e.messageId));
  for (const entry of entries) await txn.retainMessage(entry.messageId);
  txn.announce({ kind: 'appended', user: target.user, folderId: target.record.id, entries: placed, uidNext: target.record.uidNext, highestModseq: target.record.highestModseq });
  if (move) await removeEntries(txn, sub, source, entries);
  return entries.map((entry, i) => [entry.uid, (placed[i] as FolderEntry).uid]);
}

/** FolderStore's operations on the entries of one folder. */
export class FolderEntries {
  /** Large folders' entries in one record across a clean restart (folder-listings.ts). */
  readonly listings: FolderListings;

  constructor(
    private readonly sub: Sublevels,
    private readonly lane: WriteLane,
  ) {
    this.listings = new FolderListings(sub, lane);
  }

  private located(txn: LaneTxn, folderId: string): LocatedFolder {
    const found = txn.folderById(folderId);
    if (!found) throw new LetterboxError('NOT_FOUND', `no folder with id ${folderId}`);
    return found;
  }

  async listEntries(folderId: string): Promise<FolderEntry[]> {
    const located = this.lane.folders.locate(folderId);
    if (!located) throw new LetterboxError('NOT_FOUND', `no folder with id ${folderId}`);
    return (await this.listings.take(located.record)) ?? readEntries(this.sub, folderId);
  }

  async setFlags(folderId: string, changes: readonly { uid: number; flags: string[] }[], options: { unchangedSince?: number; origin?: unknown } = {}): Promise<{ changed: FolderEntry[]; conflicts: number[] }> {
    let result = { changed: [] as FolderEntry[], conflicts: [] as number[] };
    await this.lane.run(async (txn) => {
      result = { changed: [], conflicts: [] };
      const folder = this.located(txn, folderId);
      const wanted = new Map(changes.map((c) => [c.uid, storedFlags(c.flags)]));
      const updates: { entry: FolderEntry; flags: string[] }[] = [];
      for (const entry of await presentEntries(this.sub, folderId, [...wanted.keys()])) {
        const flags = wanted.get(entry.uid) as string[];
        // RFC 7162 3.1.3: an entry changed since the client last looked is left alone and reported.
        if (options.unchangedSince !== undefined && entry.modseq > options.unchangedSince) result.conflicts.push(entry.uid);
        else if (!sameFlags(entry.flags, flags)) updates.push({ entry, flags });
      }
      if (updates.length === 0) return;
      const record = folder.record;
      record.highestModseq += 1;
      for (const { entry, flags } of updates) {
        record.unseen += Number(isSeen(entry.flags)) - Number(isSeen(flags));
        const changed: FolderEntry = { ...entry, flags, modseq: record.highestModseq };
        const { uid, ...stored } = changed;
        txn.batch.put(this.sub.entries, entryKey(folderId, uid), stored);
        result.changed.push(changed);
      }
      txn.announce({ kind: 'flags', user: folder.user, folderId, entries: result.changed, highestModseq: record.highestModseq, ...(options.origin !== undefined ? { origin: options.origin } : {}) });
    });
    return result;
  }

  async expunge(folderId: string, uids: readonly number[]): Promise<number[]> {
    let removed: number[] = [];
    await this.lane.run(async (txn) => {
      const folder = this.located(txn, folderId);
      const entries = await presentEntries(this.sub, folderId, uids);
      removed = entries.map((e) => e.uid);
      if (entries.length > 0) await removeEntries(txn, this.sub, folder, entries);
    });
    return removed;
  }

  async copy(folderId: string, uids: readonly number[], targetFolderId: string, move: boolean): Promise<{ uidValidity: number; pairs: [number, number][] }> {
    let result: { uidValidity: number; pairs: [number, number][] } = { uidValidity: 0, pairs: [] };
    await this.lane.run(async (txn) => {
      const source = this.located(txn, folderId);
      const target = this.located(txn, targetFolderId);
      if (source.user !== target.user) throw new LetterboxError('INVALID', 'messages are copied between folders of one user only');
      const entries = await presentEntries(this.sub, folderId, uids);
      if (!move) await checkQuota(txn, this.sub, source.user, entries.reduce((sum, e) => sum + e.size, 0));
      result = { uidValidity: target.record.uidValidity, pairs: await transferEntries(txn, this.sub, source, entries, target, move) };
    });
    return result;
  }

  async vanishedSince(folderId: string, modseq: number): Promise<number[]> {
    const uids: number[] = [];
    for await (const [key, value] of this.sub.vanished.iterator(folderRange(folderId))) {
      if ((value as number) > modseq) uids.push(Number(key.slice(folderId.length + 1)));
    }
    return uids;
  }

  /** Deletes every entry and vanished UID of a folder, releasing the messages (DELETE, and deleting a user). */
  async clear(txn: LaneTxn, folderId: string): Promise<void> {
    for await (const [key, value] of this.sub.entries.iterator(folderRange(folderId))) {
      txn.batch.del(this.sub.entries, key);
      await txn.releaseMessage((value as FolderEntryRecord).messageId);
    }
    for await (const key of this.sub.vanished.keys(folderRange(folderId))) txn.batch.del(this.sub.vanished, key);
  }
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const left = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => left.has(f.toLowerCase()));
}
