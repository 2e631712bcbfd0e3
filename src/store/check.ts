// The store's invariants, verified and restored (`letterbox check`, and at start after a stop that was
// not clean):
// - every message is whole: chunks 0..n-1 all present, their bytes adding up to the recorded size
//   (read only with `bodies`, since that reads the whole store);
// - every mailbox entry and queue entry points at a whole message; one that does not is set aside in
//   `damaged` with the message's record, never served as an empty or truncated message;
// - a message's reference count is the number of entries pointing at it; one nobody points at is gone;
// - a mailbox's message count and bytes are its entries', and its uidNext is above every UID in it;
// - no chunk belongs to no message (a leftover of an interrupted transfer);
// - every queue entry has the shape the queue needs (queue-records.ts); one that does not is set aside.
// All repairs are one atomic batch, written through the write lane so nothing commits meanwhile.
import type { QueueEntry, StoreCheckReport as CheckReport } from '../core/types.js';
import type { Sublevels } from './db.js';
import { chunkRange, SEP } from './ids.js';
import type { LaneTxn, WriteLane } from './lane.js';
import { malformedQueueEntry } from './queue-records.js';
import type { EntryRecord, MailboxRecord, MessageRecord } from './records.js';

interface DamagedRecord {
  reason: string;
  foundAt: number;
  record?: MessageRecord;
  entries: { user: string; mailbox: string; uid: number; entry: EntryRecord }[];
  queue: QueueEntry[];
}

interface Tally {
  messages: number;
  bytes: number;
  maxUid: number;
}

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
}

export async function checkStore(sub: Sublevels, lane: WriteLane, options: CheckOptions): Promise<CheckReport> {
  let report: CheckReport | undefined;
  const damagedQueueIds: string[] = [];
  await lane.run(async (txn) => {
    report = await inspect(sub, txn, options, damagedQueueIds);
  });
  for (const id of damagedQueueIds) await options.removeQueueEntry?.(id);
  const done = report as CheckReport;
  done.consistent = done.damaged.length === 0 && done.orphanChunks === 0 && done.unreferenced === 0 && done.referenceCountsFixed === 0 && done.countersFixed.length === 0;
  return done;
}

async function inspect(sub: Sublevels, txn: LaneTxn, options: CheckOptions, damagedQueueIds: string[]): Promise<CheckReport> {
  const records = new Map<string, MessageRecord>();
  for await (const [id, record] of sub.messages.iterator()) records.set(id, record as MessageRecord);
  const report: CheckReport = {
    consistent: false, bodies: options.bodies, messages: records.size, entries: 0, queueEntries: 0, chunks: 0,
    damaged: [], orphanChunks: 0, unreferenced: 0, referenceCountsFixed: 0, countersFixed: [],
  };
  const reasons = new Map<string, string>();
  if (options.bodies) await scanBodies(sub, txn, records, reasons, report);
  for (const [id, record] of records) if (!reasons.has(id) && !(record.size >= 0 && record.chunks >= 1)) reasons.set(id, 'its record is malformed');

  const found = new Findings(records);
  await inspectEntries(sub, txn, records, reasons, found, report);
  await inspectQueue(sub, txn, records, reasons, found, report, (id) => (options.removeQueueEntry ? damagedQueueIds.push(id) : txn.batch.del(sub.queue, id)));
  for (const [id, reason] of reasons) if (!found.aside.has(id)) found.setAside(id, reason);
  setAsideInStore(sub, txn, records, found, report);
  await fixReferences(sub, txn, records, found.refs, report);
  await fixCounters(sub, txn, found.tallies, report);
  return report;
}

/** What the walk over the key spaces found: messages to set aside, references and mailbox tallies. */
class Findings {
  readonly aside = new Map<string, DamagedRecord>();
  readonly refs = new Map<string, number>();
  readonly tallies = new Map<string, Tally>();

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
}

/** Mailbox entries: each points at a whole message, or is set aside; tallies per mailbox. */
async function inspectEntries(sub: Sublevels, txn: LaneTxn, records: Map<string, MessageRecord>, reasons: Map<string, string>, found: Findings, report: CheckReport): Promise<void> {
  for await (const [key, value] of sub.entries.iterator()) {
    report.entries += 1;
    const entry = value as EntryRecord;
    const [user = '', mailbox = '', uidText = '0'] = key.split(SEP);
    const tally = found.tallies.get(`${user}${SEP}${mailbox}`) ?? { messages: 0, bytes: 0, maxUid: 0 };
    found.tallies.set(`${user}${SEP}${mailbox}`, tally);
    // Counted even for an entry set aside: its UID was given out, and is never given again.
    tally.maxUid = Math.max(tally.maxUid, Number(uidText));
    const reason = records.has(entry.messageId) ? reasons.get(entry.messageId) : 'its message record is missing';
    if (reason) {
      found.setAside(entry.messageId, reason).entries.push({ user, mailbox, uid: Number(uidText), entry });
      txn.batch.del(sub.entries, key);
      continue;
    }
    found.referenced(entry.messageId);
    tally.messages += 1;
    tally.bytes += entry.size;
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
    report.unreferenced += 1;
  }
}

async function fixCounters(sub: Sublevels, txn: LaneTxn, tallies: Map<string, Tally>, report: CheckReport): Promise<void> {
  const keys = new Set<string>([...(await sub.mailboxes.keys().all()), ...tallies.keys()]);
  for (const key of keys) {
    const [user = '', mailbox = ''] = key.split(SEP);
    const tally = tallies.get(key) ?? { messages: 0, bytes: 0, maxUid: 0 };
    const counters: MailboxRecord = await txn.mailbox(user, mailbox);
    if (counters.messages === tally.messages && counters.bytes === tally.bytes && counters.uidNext > tally.maxUid) continue;
    counters.messages = tally.messages;
    counters.bytes = tally.bytes;
    // A UID is never given twice (RFC 3501 2.3.1.1), so uidNext only ever moves up.
    counters.uidNext = Math.max(counters.uidNext, tally.maxUid + 1);
    report.countersFixed.push(`${user} ${mailbox}`);
  }
}
