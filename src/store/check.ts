// The store's invariants, verified and restored (`letterbox check`, and at start after a stop that was
// not clean):
// - every message is whole: chunks 0..n-1 all present, their bytes adding up to the recorded size
//   (read only with `bodies`, since that reads the whole store);
// - every folder entry and queue entry points at a whole message; one that does not is set aside in
//   `damaged` with the message's record, never served as an empty or truncated message;
// - a message's reference count is the number of entries (in every folder of every user, and in the
//   queue) pointing at it; one nobody points at is gone, with its index;
// - a folder's counters (messages, unseen, bytes) are its entries', its uidNext is above every UID it
//   ever gave (entries and vanished UIDs), its highestModseq at least every MODSEQ in it;
// - no folder entry or vanished UID belongs to no folder;
// - no chunk belongs to no message (a leftover of an interrupted transfer);
// - no index belongs to no message; a message in a folder without an index is indexed when the store
//   has an indexer (else counted as unindexed);
// - every queue entry has the shape the queue needs (queue-records.ts); one that does not is set aside.
// All repairs are one atomic batch, written through the write lane so nothing commits meanwhile.
import type { MessageIndexerFactory } from '../core/interfaces.js';
import type { QueueEntry, StoreCheckReport as CheckReport } from '../core/types.js';
import type { Sublevels } from './db.js';
import { isSeen } from './folder-entries.js';
import { chunkRange, SEP } from './ids.js';
import type { LaneTxn, WriteLane } from './lane.js';
import { indexStoredMessage } from './message-index.js';
import { malformedQueueEntry } from './queue-records.js';
import type { FolderEntryRecord, FolderRecord, MessageRecord } from './records.js';

interface DamagedRecord {
  reason: string;
  foundAt: number;
  record?: MessageRecord;
  entries: { user: string; mailbox: string; uid: number; entry: FolderEntryRecord }[];
  queue: QueueEntry[];
}

interface Tally {
  messages: number;
  unseen: number;
  bytes: number;
  maxUid: number;
  maxModseq: number;
}

const EMPTY_TALLY: Tally = { messages: 0, unseen: 0, bytes: 0, maxUid: 0, maxModseq: 0 };

/** What was learned of one message while scanning its chunks. */
interface ChunkScan {
  count: number;
  bytes: number;
  gap: boolean;
}

export interface CheckOptions {
  bodies: boolean;
  /**
   * Removes a queue entry of a damaged message through whoever holds the queue (the running scheduler);
   * without it, the entry is deleted in the repair batch.
   */
  removeQueueEntry?: (id: string) => Promise<void>;
  /** Indexes a message in a folder that has no index. */
  indexer?: MessageIndexerFactory;
}

export async function checkStore(sub: Sublevels, lane: WriteLane, options: CheckOptions): Promise<CheckReport> {
  let report: CheckReport | undefined;
  const damagedQueueIds: string[] = [];
  await lane.run(async (txn) => {
    // What is on disk is checked, not what the process holds (a record written behind its back).
    await txn.folders.reload(sub);
    report = await inspect(sub, txn, options, damagedQueueIds);
  });
  for (const id of damagedQueueIds) await options.removeQueueEntry?.(id);
  const done = report as CheckReport;
  done.consistent = done.damaged.length === 0 && done.orphanChunks === 0 && done.unreferenced === 0 && done.referenceCountsFixed === 0
    && done.countersFixed.length === 0 && done.orphanEntries === 0 && done.staleIndexes === 0 && done.reindexed === 0;
  return done;
}

async function inspect(sub: Sublevels, txn: LaneTxn, options: CheckOptions, damagedQueueIds: string[]): Promise<CheckReport> {
  const records = new Map<string, MessageRecord>();
  for await (const [id, record] of sub.messages.iterator()) records.set(id, record as MessageRecord);
  const report: CheckReport = {
    consistent: false, bodies: options.bodies, messages: records.size, entries: 0, queueEntries: 0, chunks: 0,
    damaged: [], orphanChunks: 0, unreferenced: 0, referenceCountsFixed: 0, countersFixed: [],
    orphanEntries: 0, staleIndexes: 0, reindexed: 0, unindexed: 0,
  };
  const storedBefore = new Set(records.keys());
  const reasons = new Map<string, string>();
  if (options.bodies) await scanBodies(sub, txn, records, reasons, report);
  for (const [id, record] of records) if (!reasons.has(id) && !(record.size >= 0 && record.chunks >= 1)) reasons.set(id, 'its record is malformed');

  const found = new Findings(records);
  await inspectEntries(sub, txn, records, reasons, found, report);
  await inspectVanished(sub, txn, found, report);
  await inspectQueue(sub, txn, records, reasons, found, report, (id) => (options.removeQueueEntry ? damagedQueueIds.push(id) : txn.batch.del(sub.queue, id)));
  for (const [id, reason] of reasons) if (!found.aside.has(id)) found.setAside(id, reason);
  setAsideInStore(sub, txn, records, found, report);
  await fixReferences(sub, txn, records, found.refs, report);
  fixCounters(txn, found.tallies, report);
  await fixIndexes(sub, txn, { records, storedBefore, inFolders: found.inFolders, indexer: options.indexer }, report);
  return report;
}

/** What the walk over the key spaces found: messages to set aside, references and mailbox tallies. */
class Findings {
  readonly aside = new Map<string, DamagedRecord>();
  readonly refs = new Map<string, number>();
  /** Per folder id. */
  readonly tallies = new Map<string, Tally>();
  /** Messages some folder entry points at (they need an index). */
  readonly inFolders = new Set<string>();

  constructor(private readonly records: Map<string, MessageRecord>) {}

  setAside(messageId: string, reason: string): DamagedRecord {
    let found = this.aside.get(messageId);
    if (!found) {
      const record = this.records.get(messageId);
      found = { reason, foundAt: Date.now(), entries: [], queue: [], ...(record ? { record } : {}) };
      this.aside.set(messageId, found);
    }
    return found;
  }

  referenced(messageId: string): void {
    this.refs.set(messageId, (this.refs.get(messageId) ?? 0) + 1);
  }

  tally(folderId: string): Tally {
    let tally = this.tallies.get(folderId);
    if (!tally) this.tallies.set(folderId, (tally = { ...EMPTY_TALLY }));
    return tally;
  }
}

/** Folder entries: each in a folder and pointing at a whole message, or set aside; tallies per folder. */
async function inspectEntries(sub: Sublevels, txn: LaneTxn, records: Map<string, MessageRecord>, reasons: Map<string, string>, found: Findings, report: CheckReport): Promise<void> {
  for await (const [key, value] of sub.entries.iterator()) {
    report.entries += 1;
    const entry = value as FolderEntryRecord;
    const [folderId = '', uidText = '0'] = key.split(SEP);
    const folder = txn.folders.locate(folderId);
    if (!folder) {
      // Of no folder (nothing can show it): gone, and its reference is not counted.
      txn.batch.del(sub.entries, key);
      report.orphanEntries += 1;
      continue;
    }
    const tally = found.tally(folderId);
    // Counted even for an entry set aside: its UID was given out, and is never given again.
    tally.maxUid = Math.max(tally.maxUid, Number(uidText));
    tally.maxModseq = Math.max(tally.maxModseq, entry.modseq);
    const reason = records.has(entry.messageId) ? reasons.get(entry.messageId) : 'its message record is missing';
    if (reason) {
      found.setAside(entry.messageId, reason).entries.push({ user: folder.user, mailbox: folder.name, uid: Number(uidText), entry });
      txn.batch.del(sub.entries, key);
      continue;
    }
    found.referenced(entry.messageId);
    found.inFolders.add(entry.messageId);
    tally.messages += 1;
    tally.bytes += entry.size;
    if (!isSeen(entry.flags)) tally.unseen += 1;
  }
}

/** Vanished UIDs: of a folder (else deleted); they count towards its uidNext and highestModseq. */
async function inspectVanished(sub: Sublevels, txn: LaneTxn, found: Findings, report: CheckReport): Promise<void> {
  for await (const [key, value] of sub.vanished.iterator()) {
    const [folderId = '', uidText = '0'] = key.split(SEP);
    if (!txn.folders.locate(folderId)) {
      txn.batch.del(sub.vanished, key);
      report.orphanEntries += 1;
      continue;
    }
    const tally = found.tally(folderId);
    tally.maxUid = Math.max(tally.maxUid, Number(uidText));
    tally.maxModseq = Math.max(tally.maxModseq, Number(value));
  }
}

/** Queue entries: each well formed and pointing at a whole message, or set aside and removed. */
async function inspectQueue(
  sub: Sublevels,
  txn: LaneTxn,
  records: Map<string, MessageRecord>,
  reasons: Map<string, string>,
  found: Findings,
  report: CheckReport,
  remove: (id: string) => void,
): Promise<void> {
  for await (const [id, value] of sub.queue.iterator()) {
    report.queueEntries += 1;
    const malformed = malformedQueueEntry(value);
    if (malformed) {
      // Nothing can use it; kept whole under its own key for whoever wants to look (no reference counted).
      found.setAside(`malformed-queue-entry-${id}`, `its queue entry ${id} is malformed: ${malformed}`).queue.push(value as QueueEntry);
      txn.batch.del(sub.queue, id);
      continue;
    }
    const entry = value as QueueEntry;
    const reason = records.has(entry.messageId) ? reasons.get(entry.messageId) : 'its message record is missing';
    if (reason) {
      found.setAside(entry.messageId, reason).queue.push(entry);
      remove(id);
      continue;
    }
    found.referenced(entry.messageId);
  }
}

/** Moves what was found damaged to `damaged`, out of `messages`, and into the report. */
function setAsideInStore(sub: Sublevels, txn: LaneTxn, records: Map<string, MessageRecord>, found: Findings, report: CheckReport): void {
  for (const [messageId, damaged] of found.aside) {
    txn.batch.put(sub.damaged, messageId, damaged);
    txn.batch.del(sub.messages, messageId);
    txn.batch.del(sub.indexes, messageId);
    records.delete(messageId);
    report.damaged.push({
      messageId,
      reason: damaged.reason,
      entries: damaged.entries.map((e) => `${e.user} ${e.mailbox} ${e.uid}`),
      queueIds: damaged.queue.map((q) => q.id),
    });
  }
}

/** Reads every chunk in key order, so each message's chunks arrive together and in sequence. */
async function scanBodies(sub: Sublevels, txn: LaneTxn, records: Map<string, MessageRecord>, reasons: Map<string, string>, report: CheckReport): Promise<void> {
  const scans = new Map<string, ChunkScan>();
  const stray: string[] = [];
  for await (const [key, value] of sub.bodies.iterator()) {
    report.chunks += 1;
    const cut = key.lastIndexOf(SEP);
    const messageId = key.slice(0, cut);
    const index = parseInt(key.slice(cut + 1), 16);
    if (!records.has(messageId)) {
      stray.push(key);
      continue;
    }
    const scan = scans.get(messageId) ?? { count: 0, bytes: 0, gap: false };
    if (index !== scan.count) scan.gap = true;
    scan.count += 1;
    scan.bytes += value.byteLength;
    scans.set(messageId, scan);
  }
  for (const [id, record] of records) {
    const scan = scans.get(id);
    if (!scan) reasons.set(id, 'none of its chunks is present');
    else if (scan.gap || scan.count !== record.chunks) reasons.set(id, `${scan.count} of its ${record.chunks} chunks are present`);
    else if (scan.bytes !== record.size) reasons.set(id, `its chunks hold ${scan.bytes} bytes, not ${record.size}`);
  }
  // Chunks of transfers still running (their marker is read after the scan, so none is missed) and of
  // messages set aside earlier are kept; the rest belong to nothing.
  const kept = new Set<string>([...(await sub.pending.keys().all()), ...(await sub.damaged.keys().all())]);
  for (const key of stray) {
    if (kept.has(key.slice(0, key.lastIndexOf(SEP)))) continue;
    txn.batch.del(sub.bodies, key);
    report.orphanChunks += 1;
  }
}

async function fixReferences(sub: Sublevels, txn: LaneTxn, records: Map<string, MessageRecord>, refs: Map<string, number>, report: CheckReport): Promise<void> {
  for (const [messageId, record] of records) {
    const counted = refs.get(messageId) ?? 0;
    if (counted === record.refs) continue;
    if (counted > 0) {
      txn.batch.put(sub.messages, messageId, { ...record, refs: counted });
      report.referenceCountsFixed += 1;
      continue;
    }
    txn.batch.del(sub.messages, messageId);
    for await (const key of sub.bodies.keys(chunkRange(messageId))) txn.batch.del(sub.bodies, key);
    records.delete(messageId);
    report.unreferenced += 1;
  }
}

function fixCounters(txn: LaneTxn, tallies: Map<string, Tally>, report: CheckReport): void {
  for (const [user, name] of allFolders(txn)) {
    const stored = txn.folders.get(user, name);
    const tally = (stored && tallies.get(stored.id)) ?? EMPTY_TALLY;
    if (!stored || (stored.messages === tally.messages && stored.unseen === tally.unseen && stored.bytes === tally.bytes
      && stored.uidNext > tally.maxUid && stored.highestModseq >= tally.maxModseq)) continue;
    const counters = txn.folder(user, name) as FolderRecord;
    counters.messages = tally.messages;
    counters.unseen = tally.unseen;
    counters.bytes = tally.bytes;
    // A UID is never given twice (RFC 3501 2.3.1.1), and MODSEQs only grow (RFC 7162 3.1.1).
    counters.uidNext = Math.max(counters.uidNext, tally.maxUid + 1);
    counters.highestModseq = Math.max(counters.highestModseq, tally.maxModseq);
    report.countersFixed.push(`${user} ${name}`);
  }
}

function allFolders(txn: LaneTxn): [string, string][] {
  return txn.folders.users().flatMap((user) => [...txn.folders.foldersOf(user).keys()].map((name): [string, string] => [user, name]));
}

interface IndexFacts {
  /** Messages still stored once the check is done, and those stored when it started. */
  records: Map<string, MessageRecord>;
  storedBefore: Set<string>;
  inFolders: Set<string>;
  indexer: MessageIndexerFactory | undefined;
}

/** Indexes go with their messages; a message in a folder gets one when an indexer is known. */
async function fixIndexes(sub: Sublevels, txn: LaneTxn, facts: IndexFacts, report: CheckReport): Promise<void> {
  const indexed = new Set<string>();
  for await (const messageId of sub.indexes.keys()) {
    if (facts.records.has(messageId)) {
      indexed.add(messageId);
      continue;
    }
    txn.batch.del(sub.indexes, messageId);
    // Those of messages this check removed went with them; only an index left behind earlier counts.
    if (!facts.storedBefore.has(messageId)) report.staleIndexes += 1;
  }
  // Summaries are a cache of the indexes: one without its message is dropped without a word.
  for await (const messageId of sub.summaries.keys()) if (!facts.records.has(messageId)) txn.batch.del(sub.summaries, messageId);
  for (const messageId of facts.inFolders) {
    if (indexed.has(messageId) || !facts.records.has(messageId)) continue;
    const index = facts.indexer ? await indexStoredMessage(sub, messageId, facts.indexer) : undefined;
    if (index === undefined) {
      report.unindexed += 1;
      continue;
    }
    txn.batch.put(sub.indexes, messageId, index);
    report.reindexed += 1;
  }
}
