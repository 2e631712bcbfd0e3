// A large folder's entries in one record (`listings` key space), so the first SELECT after a restart
// reads one value instead of iterating 10,000 entry keys (measured: the per-row iteration, not
// JSON.parse, is most of that cost). A cache, never the truth:
// - written only when the service stops cleanly (Store.close after markRunning), for the folders that
//   were listed while it ran, each read and written in one write-lane job so it matches its counters;
// - used only while the folder record's counters still equal those it was written with: every change of
//   a folder's entries bumps highestModseq (folder-entries.ts), and anything else that removes entries
//   changes `messages`, so a listing that does not match is ignored;
// - taken once: deleted as it is read, so no later change can make a kept one stale; and
//   a `letterbox check` that repairs anything deletes them all (it changes entries outside the lane's
//   rules).
import type { FolderEntry } from '../core/types.js';
import type { Sublevels } from './db.js';
import { folderRange } from './ids.js';
import type { WriteLane } from './lane.js';
import type { FolderEntryRecord, FolderRecord } from './records.js';

/** Smaller folders are listed quickly enough from their entries. */
export const LISTING_MIN_MESSAGES = 500;

/** The folder's counters a listing is valid for. */
type Stamp = Pick<FolderRecord, 'highestModseq' | 'uidNext' | 'messages' | 'bytes' | 'unseen'>;

interface Listing extends Stamp {
  v: 1;
  uids: number[];
  modseqs: number[];
  sizes: number[];
  dates: number[];
  ids: string[];
  /** Distinct flag lists, and each entry's index into them. */
  flagLists: string[][];
  flags: number[];
}

function stampOf(record: FolderRecord): Stamp {
  const { highestModseq, uidNext, messages, bytes, unseen } = record;
  return { highestModseq, uidNext, messages, bytes, unseen };
}

export function packListing(record: FolderRecord, entries: readonly FolderEntry[]): string {
  const listing: Listing = { v: 1, ...stampOf(record), uids: [], modseqs: [], sizes: [], dates: [], ids: [], flagLists: [], flags: [] };
  const known = new Map<string, number>();
  for (const entry of entries) {
    const key = entry.flags.join(' ');
    let at = known.get(key);
    if (at === undefined) {
      at = listing.flagLists.push([...entry.flags]) - 1;
      known.set(key, at);
    }
    listing.uids.push(entry.uid);
    listing.modseqs.push(entry.modseq);
    listing.sizes.push(entry.size);
    listing.dates.push(entry.internalDate);
    listing.ids.push(entry.messageId);
    listing.flags.push(at);
  }
  return JSON.stringify(listing);
}

/** The entries, or null when the listing is not for the folder as it stands now (or is unreadable). */
export function unpackListing(text: string, record: FolderRecord): FolderEntry[] | null {
  let listing: Listing;
  try {
    listing = JSON.parse(text) as Listing;
  } catch {
    return null;
  }
  const stamp = stampOf(record);
  if (listing?.v !== 1 || (Object.keys(stamp) as (keyof Stamp)[]).some((key) => listing[key] !== stamp[key])) return null;
  const count = listing.uids?.length;
  const columns = [listing.modseqs, listing.sizes, listing.dates, listing.ids, listing.flags];
  if (count !== record.messages || columns.some((column) => !Array.isArray(column) || column.length !== count)) return null;
  const entries: FolderEntry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const flags = listing.flagLists[listing.flags[i]!];
    if (!Array.isArray(flags)) return null;
    entries[i] = { uid: listing.uids[i]!, messageId: listing.ids[i]!, size: listing.sizes[i]!, flags: flags.slice(), internalDate: listing.dates[i]!, modseq: listing.modseqs[i]! };
  }
  return entries;
}

/** The entries of a folder, read from its entry keys. */
export async function readEntries(sub: Sublevels, folderId: string): Promise<FolderEntry[]> {
  // One all() rather than an await per entry: a 10k-message folder is read in a few round trips.
  const rows = await sub.entries.iterator(folderRange(folderId)).all();
  const skip = folderId.length + 1;
  return rows.map(([key, value]) => {
    const { messageId, size, flags, internalDate, modseq } = value as FolderEntryRecord;
    return { uid: Number(key.slice(skip)), messageId, size, flags, internalDate, modseq };
  });
}

export class FolderListings {
  /** Folders listed since the store opened: their listings are written at a clean stop. */
  private readonly listed = new Set<string>();

  constructor(
    private readonly sub: Sublevels,
    private readonly lane: WriteLane,
  ) {}

  /** The folder's entries from its listing when one matches `record`; the listing is deleted either way. */
  async take(record: FolderRecord): Promise<FolderEntry[] | null> {
    this.listed.add(record.id);
    const text = (await this.sub.listings.get(record.id)) as string | undefined;
    if (text === undefined) return null;
    // Not awaited: the SELECT need not wait for a synced write; a listing that outlives a crash no
    // longer matches once anything changed, and is ignored then.
    this.lane.run(async (txn) => void txn.batch.del(this.sub.listings, record.id), true).catch(() => undefined);
    return unpackListing(text, record);
  }

  /** At a clean stop: a listing for each large folder (`min` messages) listed since the store opened. */
  async saveAll(min = LISTING_MIN_MESSAGES): Promise<void> {
    for (const folderId of this.listed) {
      await this.lane.run(async (txn) => {
        // Read in the lane: no change can come between the entries and the counters they are stamped with.
        const record = this.lane.folders.locate(folderId)?.record;
        if (!record || record.messages < min) return;
        const entries = await readEntries(this.sub, folderId);
        if (entries.length === record.messages) txn.batch.put(this.sub.listings, folderId, packListing(record, entries));
      });
    }
    this.listed.clear();
  }

  /** After a check that repaired something: every listing goes (entries may have changed). */
  async clear(): Promise<void> {
    const keys = await this.sub.listings.keys().all();
    if (keys.length === 0) return;
    await this.lane.run(async (txn) => {
      for (const key of keys) txn.batch.del(this.sub.listings, key);
    });
  }
}
