// The selected folder as one session's client knows it (RFC 3501 5.2, 7.4.1): the sequence numbers it
// was told, the flags and MODSEQs it last saw, and the changes made since (by anyone) that it has not
// been told yet.
//
// How it works. `uids`, `flags` and `modseqs` are parallel arrays in sequence order (UIDs ascending), so
// seqOf is a binary search and 10,000 messages cost three arrays, not 10,000 objects. Changes from
// SelectedFolder.onChange are only queued; flush() applies them and tells the client, in the order a
// client can follow: EXPUNGE (or VANISHED) first, highest sequence number first so every number is valid
// when sent; then EXISTS and RECENT; then FETCH of the flags that changed. Expunges wait for a flush
// that may announce them: until then the message keeps its number (RFC 3501 7.4.1, never renumber a
// client that has not been told).
import type { FolderColumns, FolderMessageState, SelectedChange, SelectedFolder } from './backend.js';
import type { CommandContext, SelectedSession } from './command.js';
import { atom, list, num, seq, type ResponseValue } from './wire/encoder.js';
import { compactSequenceSet, type SequenceSet } from './wire/sequence-set.js';

/** What the connection does for a selected session. */
export interface SelectedHooks {
  /** The folder was deleted under the session (a `gone` change reached a flush). */
  gone(): void;
  /** A change was queued (IDLE pushes it at once). */
  changed(): void;
}

/** Index of the first element of `sorted` not below `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The folder's snapshot as columns: the backend's own when it gives them, else made from `messages`. */
export function columnsOf(folder: SelectedFolder): FolderColumns {
  if (folder.columns) return folder.columns;
  const messages = folder.messages;
  return { uids: messages.map((m) => m.uid), modseqs: messages.map((m) => m.modseq), flags: messages.map((m) => m.flags) };
}

/** Index of the first message of the snapshot without \Seen, -1 when none (RFC 3501 7.1 UNSEEN). */
export function firstUnseenIndex(columns: FolderColumns): number {
  // Flag lists are mostly shared between messages: each distinct list is looked at once.
  const seen = new Map<readonly string[], boolean>();
  for (let i = 0; i < columns.flags.length; i += 1) {
    const flags = columns.flags[i] as readonly string[];
    let isSeen = seen.get(flags);
    if (isSeen === undefined) {
      isSeen = flags.includes('\\Seen');
      seen.set(flags, isSeen);
    }
    if (!isSeen) return i;
  }
  return -1;
}

interface FlagChange {
  /** True while every change to it since the last flush came from this session's own STORE. */
  ownOnly: boolean;
}

export class SelectedState implements SelectedSession {
  private uids: number[] = [];
  private flags: (readonly string[])[] = [];
  private modseqs: number[] = [];
  /** UIDs this session is the one to show as \Recent (RFC 3501 2.3.2). */
  private readonly recentUids = new Set<number>();
  private pending: SelectedChange[] = [];
  /** Expunged UIDs the client still sees (announced at the next flush that may). */
  private readonly expungedUntold = new Set<number>();
  private readonly flagChanges = new Map<number, FlagChange>();
  private isGone = false;
  private closed = false;
  private appliedModseq: number;

  constructor(
    readonly folder: SelectedFolder,
    private readonly enabled: ReadonlySet<string>,
    private readonly hooks: SelectedHooks,
  ) {
    // Columns copied, not an object per message (SELECT of a large folder stays cheap).
    const columns = columnsOf(folder);
    this.uids = columns.uids.slice();
    this.flags = columns.flags.slice();
    this.modseqs = columns.modseqs.slice();
    for (const uid of folder.recent) this.recentUids.add(uid);
    this.appliedModseq = folder.highestModseq;
    folder.onChange((change) => {
      if (this.closed) return;
      this.pending.push(change);
      this.hooks.changed();
    });
  }

  get readOnly(): boolean {
    return this.folder.readOnly;
  }

  get exists(): number {
    return this.uids.length;
  }

  get highestModseq(): number {
    return this.appliedModseq;
  }

  /** Changes are waiting to be told. */
  get hasPending(): boolean {
    return this.pending.length > 0 || this.expungedUntold.size > 0 || this.flagChanges.size > 0;
  }

  uidOf(seqNumber: number): number | undefined {
    return seqNumber >= 1 ? this.uids[seqNumber - 1] : undefined;
  }

  seqOf(uid: number): number | undefined {
    const index = lowerBound(this.uids, uid);
    return this.uids[index] === uid ? index + 1 : undefined;
  }

  flagsOf(uid: number): readonly string[] {
    const index = this.indexOf(uid);
    if (index === undefined) return [];
    const flags = this.flags[index] as readonly string[];
    return this.recentUids.has(uid) ? [...flags, '\\Recent'] : flags;
  }

  modseqOf(uid: number): number {
    const index = this.indexOf(uid);
    return index === undefined ? 0 : (this.modseqs[index] as number);
  }

  resolve(set: SequenceSet, byUid: boolean): number[] {
    const picked = new Set<number>();
    const count = this.uids.length;
    if (count === 0) return [];
    const last = byUid ? (this.uids[count - 1] as number) : count;
    for (const range of set.ranges) {
      const a = range.start === '*' ? last : range.start;
      const b = range.end === '*' ? last : range.end;
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      if (byUid) {
        for (let i = lowerBound(this.uids, lo); i < count && (this.uids[i] as number) <= hi; i += 1) picked.add(this.uids[i] as number);
      } else {
        for (let s = Math.max(lo, 1); s <= Math.min(hi, count); s += 1) picked.add(this.uids[s - 1] as number);
      }
    }
    // `$` (RFC 5182) names the last SEARCH's saved result: SEARCHRES is not offered, so it names nothing.
    if (set.ranges.length <= 1) return [...picked];
    return [...picked].sort((x, y) => x - y);
  }

  async flush(ctx: CommandContext, options: { expunges: boolean; uid?: boolean; silentOwn?: boolean }): Promise<void> {
    const appended = this.applyPending();
    if (this.isGone) {
      this.hooks.gone();
      return;
    }
    if (options.expunges) this.tellExpunges(ctx);
    // EXPUNGE lowers the count by itself; EXISTS and RECENT are for new messages (RFC 3501 7.3.1, 7.3.2).
    if (appended > 0) {
      ctx.untagged([num(this.uids.length), atom('EXISTS')]);
      ctx.untagged([num(this.recentUids.size), atom('RECENT')]);
    }
    this.tellFlags(ctx, options.uid === true, options.silentOwn === true);
  }

  /** Closes the folder view; no more changes are queued. */
  close(): void {
    this.closed = true;
    this.pending = [];
    this.folder.close();
  }

  /** Applies the queued changes to the view (expunges only marked); returns how many messages came. */
  private applyPending(): number {
    const changes = this.pending;
    this.pending = [];
    let appended = 0;
    for (const change of changes) {
      switch (change.kind) {
        case 'appended':
          appended += this.applyAppended(change.messages, change.recent);
          break;
        case 'flags':
          this.applyFlags(change.messages, change.own);
          break;
        case 'expunged':
          for (const uid of change.uids) if (this.indexOf(uid) !== undefined) this.expungedUntold.add(uid);
          break;
        case 'gone':
          this.isGone = true;
          break;
      }
    }
    return appended;
  }

  private applyAppended(messages: readonly FolderMessageState[], recent: boolean): number {
    let count = 0;
    for (const message of messages) {
      const last = this.uids[this.uids.length - 1];
      if (last !== undefined && message.uid <= last) continue; // already in the snapshot
      this.push(message);
      if (recent) this.recentUids.add(message.uid);
      count += 1;
    }
    return count;
  }

  private applyFlags(messages: readonly FolderMessageState[], own: boolean): void {
    for (const message of messages) {
      const index = this.indexOf(message.uid);
      if (index === undefined) continue;
      if (message.modseq < (this.modseqs[index] as number)) continue; // an older state than the one known
      this.flags[index] = message.flags;
      this.modseqs[index] = message.modseq;
      this.noteModseq(message.modseq);
      const known = this.flagChanges.get(message.uid);
      this.flagChanges.set(message.uid, { ownOnly: own && (known?.ownOnly ?? true) });
    }
  }

  /** RFC 3501 7.4.1 EXPUNGE, highest number first; RFC 7162 3.2.10 VANISHED under QRESYNC. */
  private tellExpunges(ctx: CommandContext): void {
    if (this.expungedUntold.size === 0) return;
    const gone = [...this.expungedUntold].sort((a, b) => b - a);
    this.expungedUntold.clear();
    const vanished = this.enabled.has('QRESYNC');
    for (const uid of gone) {
      const index = this.indexOf(uid);
      if (index === undefined) continue;
      if (!vanished) ctx.untagged([num(index + 1), atom('EXPUNGE')]);
      this.uids.splice(index, 1);
      this.flags.splice(index, 1);
      this.modseqs.splice(index, 1);
      this.recentUids.delete(uid);
      this.flagChanges.delete(uid);
    }
    if (vanished) ctx.untagged([atom('VANISHED'), seq(compactSequenceSet(gone))]);
  }

  /**
   * FETCH (FLAGS ...) for each message whose flags changed, in sequence order. Under CONDSTORE a silent
   * STORE still gets its MODSEQ (RFC 7162 3.1.3), without FLAGS.
   */
  private tellFlags(ctx: CommandContext, withUid: boolean, silentOwn: boolean): void {
    if (this.flagChanges.size === 0) return;
    const condstore = this.enabled.has('CONDSTORE') || this.enabled.has('QRESYNC');
    const changed = [...this.flagChanges].sort((a, b) => a[0] - b[0]);
    this.flagChanges.clear();
    for (const [uid, change] of changed) {
      const seqNumber = this.seqOf(uid);
      if (seqNumber === undefined) continue;
      const silent = silentOwn && change.ownOnly;
      if (silent && !condstore) continue;
      const items: ResponseValue[] = [];
      if (!silent) items.push(atom('FLAGS'), list(this.flagsOf(uid).map((flag) => atom(flag))));
      // RFC 7162 3.2.10 wants UID under QRESYNC in every untagged FETCH.
      if (withUid || silent || this.enabled.has('QRESYNC')) items.push(atom('UID'), num(uid));
      if (condstore) items.push(atom('MODSEQ'), list([num(this.modseqOf(uid))]));
      ctx.untagged([num(seqNumber), atom('FETCH'), list(items)]);
    }
  }

  private push(message: FolderMessageState): void {
    this.uids.push(message.uid);
    this.flags.push(message.flags);
    this.modseqs.push(message.modseq);
    this.noteModseq(message.modseq);
  }

  private noteModseq(modseq: number): void {
    if (modseq > this.appliedModseq) this.appliedModseq = modseq;
  }

  private indexOf(uid: number): number | undefined {
    const index = lowerBound(this.uids, uid);
    return this.uids[index] === uid ? index : undefined;
  }
}
