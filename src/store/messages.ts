// Receiving and reading message bytes. A MessageWriter streams chunks into `bodies` as they arrive
// (so a 50 MB message never sits whole in memory), feeds them to the MessageIndexer on the way (so the
// message is indexed once, without being read again), and commits through the write lane.
import { Readable } from 'node:stream';
import type { Level } from 'level';
import { LetterboxError } from '../core/errors.js';
import { CrlfLineEnds } from '../core/line-ends.js';
import type { CommitResult, Disposition, MessageIndexer, MessageIndexerFactory, MessageWriter } from '../core/interfaces.js';
import type { QueueEntry } from '../core/types.js';
import { Batch } from './batch.js';
import { CHUNK_SIZE, type MessageSummarizer, type Sublevels } from './db.js';
import { addEntry } from './folder-entries.js';
import { INBOX } from './folder-names.js';
import { chunkKey, chunkRange, newId } from './ids.js';
import type { LaneTxn, WriteLane } from './lane.js';
import type { MessageRecord } from './records.js';

/** The indexer has not been asked for its result yet. */
const NOT_YET = Symbol('not yet indexed');

export class ChunkedMessageWriter implements MessageWriter {
  readonly messageId = newId();
  private bytes = 0;
  private chunks = 0;
  // Bytes not yet written, in one buffer that grows to CHUNK_SIZE and is then reused for every chunk.
  // A fresh buffer per chunk (or a concat of what arrived) would leave ~50 MB of garbage per 50 MB
  // message for the GC to find, and the process's resident size grows with that garbage, not with
  // the message. Reuse is safe because LevelDB has copied a value once its batch write resolves.
  private buffer: Buffer = Buffer.alloc(0);
  private filled = 0;
  private flushing = false;
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';
  private indexer: MessageIndexer | undefined;
  private readonly lineEnds: CrlfLineEnds | null;
  private indexed: unknown = NOT_YET;

  constructor(
    private readonly db: Level<string, unknown>,
    private readonly sub: Sublevels,
    private readonly lane: WriteLane,
    indexerFactory?: MessageIndexerFactory,
    /** Kept byte for byte: no line-end conversion (MailStore.createMessage). */
    binary = false,
    private readonly summarize?: MessageSummarizer,
  ) {
    this.indexer = indexerFactory?.();
    this.lineEnds = binary ? null : new CrlfLineEnds();
  }

  get size(): number {
    return this.bytes;
  }

  /** Each call must finish before the next: the chunk being written shares its buffer with the next one. */
  async write(received: Buffer): Promise<void> {
    if (this.state !== 'open') throw new LetterboxError('ABORTED', `message ${this.messageId} is ${this.state}`);
    if (this.flushing) throw new LetterboxError('INVALID', `message ${this.messageId}: write() called before the previous one finished`);
    const chunk = this.lineEnds ? this.lineEnds.canonical(received) : received;
    this.bytes += chunk.length;
    this.index(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      offset += this.append(chunk, offset);
      if (this.filled === CHUNK_SIZE) await this.flush();
    }
  }

  /** Copies as much of `chunk` from `offset` as fits in the current chunk; returns how much. */
  private append(chunk: Buffer, offset: number): number {
    const taken = Math.min(CHUNK_SIZE - this.filled, chunk.length - offset);
    const needed = this.filled + taken;
    // Grown by doubling, so a 2 KB message never allocates a whole CHUNK_SIZE.
    if (needed > this.buffer.length) {
      const larger = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, Math.max(needed, this.buffer.length * 2, 4096)));
      this.buffer.copy(larger, 0, 0, this.filled);
      this.buffer = larger;
    }
    chunk.copy(this.buffer, this.filled, offset, offset + taken);
    this.filled = needed;
    return taken;
  }

  /**
   * Writes the chunk filled so far in its own synced batch. Synced, because LevelDB makes a synced write
   * durable but not the unsynced ones before it once it has switched to a new log in between (db.ts).
   */
  private async flush(): Promise<void> {
    const batch = new Batch(this.db);
    // The marker goes with the first chunk: whatever of this message survives a crash, the marker does too.
    if (this.chunks === 0) batch.put(this.sub.pending, this.messageId, { startedAt: Date.now() });
    batch.put(this.sub.bodies, chunkKey(this.messageId, this.chunks), this.filledView());
    this.chunks += 1;
    this.flushing = true;
    try {
      await batch.write(true);
    } finally {
      this.flushing = false;
    }
    this.filled = 0;
  }

  private filledView(): Uint8Array {
    return new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, this.filled);
  }

  async commit(disposition: Disposition): Promise<CommitResult> {
    if (this.state !== 'open') throw new LetterboxError('ABORTED', `message ${this.messageId} is ${this.state}`);
    if (disposition.mailboxes.length === 0 && !disposition.queue) throw new LetterboxError('INVALID', 'a message needs a mailbox or a queue entry');
    const queueId = disposition.queue ? newId() : undefined;
    const now = disposition.receivedAt ?? Date.now();
    // Only a message in a mailbox is read over IMAP: one only queued for relay gets no summary.
    await this.commitWith(now, async (txn, record) => {
      // Deliveries go to each user's INBOX, announced as `appended` like any other new entry.
      for (const user of new Set(disposition.mailboxes)) {
        txn.ensureDefaultFolders(user);
        addEntry(txn, this.sub, user, INBOX, { messageId: this.messageId, size: this.bytes, flags: [], internalDate: now });
        record.refs += 1;
      }
      if (disposition.queue && queueId) {
        txn.batch.put(this.sub.queue, queueId, queueEntry(queueId, this.messageId, this.bytes, now, disposition.queue));
        record.refs += 1;
      }
      // A DSN and the queue entry it reports on are written together: neither lost nor sent twice.
      if (disposition.settles) await txn.settle(disposition.settles);
    }, disposition.mailboxes.length > 0);
    return { messageId: this.messageId, size: this.bytes, ...(queueId ? { queueId } : {}) };
  }

  /**
   * Commits the message with whatever `place` adds to the batch (its entries and their references on
   * `record`), its index beside it. For the store's own callers (deliveries above, FolderStore.append);
   * a refusal thrown by `place` discards the message like any failed commit.
   */
  async commitWith(receivedAt: number, place: (txn: LaneTxn, record: MessageRecord) => Promise<void>, withSummary = true): Promise<void> {
    if (this.state !== 'open') throw new LetterboxError('ABORTED', `message ${this.messageId} is ${this.state}`);
    this.state = 'committing';
    try {
      // A message that fits in one chunk (most mail) is written whole in the commit batch: one synced
      // write, and no `pending` marker to sweep. A longer one has its earlier chunks written already.
      const single = this.chunks === 0;
      if (!single && this.filled > 0) await this.flush();
      const index = this.finishIndex();
      const summary = withSummary ? this.summaryOf(index) : undefined;
      const record: MessageRecord = { size: this.bytes, chunks: single ? 1 : this.chunks, refs: 0, receivedAt };
      await this.lane.run(async (txn) => {
        record.refs = 0;
        if (single) txn.batch.put(this.sub.bodies, chunkKey(this.messageId, 0), this.filledView());
        await place(txn, record);
        txn.batch.put(this.sub.messages, this.messageId, record);
        if (index !== undefined) txn.batch.put(this.sub.indexes, this.messageId, index);
        if (summary !== undefined) txn.batch.put(this.sub.summaries, this.messageId, summary);
        if (!single) txn.batch.del(this.sub.pending, this.messageId);
      }, true);
      this.state = 'committed';
    } catch (err) {
      this.state = 'open';
      await this.abort();
      throw err;
    }
  }

  /** Feeds the indexer; an indexer that throws (it must not) only costs the message its index. */
  private index(chunk: Buffer): void {
    if (!this.indexer) return;
    try {
      this.indexer.write(chunk);
    } catch {
      this.indexer = undefined;
    }
  }

  /** The summary a backend reads instead of the index; a summarizer that throws costs only the summary. */
  private summaryOf(index: unknown): string | undefined {
    if (index === undefined || !this.summarize) return undefined;
    try {
      const summary = this.summarize(index);
      return typeof summary === 'string' ? summary : undefined;
    } catch {
      return undefined;
    }
  }

  private finishIndex(): unknown {
    if (this.indexed !== NOT_YET) return this.indexed;
    try {
      this.indexed = this.indexer?.end();
    } catch {
      this.indexed = undefined;
    }
    this.indexer = undefined;
    return this.indexed;
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.buffer = Buffer.alloc(0);
    this.filled = 0;
    await discardChunks(this.db, this.sub, this.messageId);
  }
}

/** Deletes the chunks of an uncommitted message and its marker, in one synced batch (no orphan survives a cut). */
export async function discardChunks(db: Level<string, unknown>, sub: Sublevels, messageId: string): Promise<void> {
  const batch = new Batch(db);
  for await (const key of sub.bodies.keys(chunkRange(messageId))) batch.del(sub.bodies, key);
  batch.del(sub.pending, messageId);
  await batch.write(true);
}

/** Removes what crashed transfers left behind. Returns how many messages were swept. */
export async function sweepPending(db: Level<string, unknown>, sub: Sublevels): Promise<number> {
  let swept = 0;
  for await (const messageId of sub.pending.keys()) {
    await discardChunks(db, sub, messageId);
    swept += 1;
  }
  return swept;
}

function queueEntry(id: string, messageId: string, size: number, now: number, queue: NonNullable<Disposition['queue']>): QueueEntry {
  return {
    id,
    messageId,
    sender: queue.sender,
    size,
    createdAt: now,
    nextAttemptAt: now,
    attempts: 0,
    recipients: queue.recipients.map((r) => ({ address: r.address, state: 'queued', attempts: 0, updatedAt: now, ...(r.dsn ? { dsn: r.dsn } : {}) })),
    ...(queue.ret ? { ret: queue.ret } : {}),
    ...(queue.envid ? { envid: queue.envid } : {}),
  };
}

/** The stored bytes of a message, a chunk at a time. */
export function openMessage(sub: Sublevels, messageId: string): Readable {
  async function* chunks() {
    for await (const value of sub.bodies.values(chunkRange(messageId))) {
      yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/**
 * Bytes `start` to `end` (exclusive) of a stored message, reading only the chunks that hold them. Every
 * chunk but the last holds CHUNK_SIZE bytes (the writer fills each before starting the next), so the
 * first chunk needed is found by division.
 */
export function openMessageRange(sub: Sublevels, messageId: string, start: number, end: number): Readable {
  async function* chunks() {
    if (end <= start) return;
    const first = Math.floor(Math.max(0, start) / CHUNK_SIZE);
    const last = Math.floor((end - 1) / CHUNK_SIZE);
    let offset = first * CHUNK_SIZE;
    for await (const value of sub.bodies.values({ gte: chunkKey(messageId, first), lte: chunkKey(messageId, last) })) {
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      const from = Math.max(0, start - offset);
      const to = Math.min(bytes.length, end - offset);
      offset += bytes.length;
      if (to > from) yield bytes.subarray(from, to);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
