// One session's view of a selected folder (SELECT or EXAMINE): the snapshot it was opened with, then
// every change of the live folder after it, in order, as SelectedChange. The server decides when to
// tell its client (RFC 3501 7); this only hands the changes over, synchronously, and queues them until
// the server listens.
import type { FolderStore } from '../core/interfaces.js';
import type { FolderChange, FolderEntry } from '../core/types.js';
import type { FetchNeeds, FolderColumns, FolderMessageState, MessageView, SelectedChange, SelectedFolder } from '../imap/backend.js';
import type { EnvelopeCache } from './envelope-cache.js';
import { backendError, translated } from './errors.js';
import { fetchMessages } from './fetch.js';
import { applyFlags, clientFlags, sameFlags } from './flags.js';
import type { LiveFolder, LiveSubscriber } from './live-folder.js';

export interface SelectedContext {
  store: FolderStore;
  envelopes: EnvelopeCache;
  user: string;
  /** Called once at close(). */
  closed: (selected: ImapSelectedFolder) => void;
}

/** The entries of a change as this session's own objects (the server may keep and change them). */
function states(entries: readonly FolderEntry[]): FolderMessageState[] {
  return entries.map((entry) => ({ uid: entry.uid, flags: [...entry.flags], modseq: entry.modseq }));
}

export class ImapSelectedFolder implements SelectedFolder, LiveSubscriber {
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly highestModseq: number;
  readonly keywords: readonly string[];
  private readonly snapshot: { uids: number[]; modseqs: number[]; flagIds: number[] };
  private snapshotColumns: FolderColumns | null = null;
  private snapshotMessages: FolderMessageState[] | null = null;
  private readonly listeners: ((change: SelectedChange) => void)[] = [];
  private queued: SelectedChange[] = [];
  private isClosed = false;

  constructor(
    private readonly live: LiveFolder,
    readonly readOnly: boolean,
    /** UIDs of the snapshot this session is the first to see (RFC 3501 2.3.2). */
    readonly recent: readonly number[],
    private readonly context: SelectedContext,
  ) {
    this.uidValidity = live.uidValidity;
    this.uidNext = live.uidNext;
    this.highestModseq = live.highestModseq;
    this.keywords = live.keywords.list();
    // Arrays of numbers are copied now; the objects the interface lists are made only if asked for.
    this.snapshot = { uids: live.uids.slice(), modseqs: live.modseqs.slice(), flagIds: live.flagIds.slice() };
    live.subscribers.add(this);
  }

  get name(): string {
    return this.live.name;
  }

  get messages(): readonly FolderMessageState[] {
    if (!this.snapshotMessages) {
      const { uids, modseqs, flagIds } = this.snapshot;
      // Each its own flag list: the server may keep and change them.
      this.snapshotMessages = uids.map((uid, i) => ({ uid, flags: [...this.live.flagSets.get(flagIds[i]!)], modseq: modseqs[i]! }));
    }
    return this.snapshotMessages;
  }

  /** The snapshot as columns; flag lists are the live folder's interned (frozen) ones, shared. */
  get columns(): FolderColumns {
    if (!this.snapshotColumns) {
      const { uids, modseqs, flagIds } = this.snapshot;
      this.snapshotColumns = { uids, modseqs, flags: flagIds.map((id) => this.live.flagSets.get(id)) };
    }
    return this.snapshotColumns;
  }

  onChange(listener: (change: SelectedChange) => void): void {
    this.listeners.push(listener);
    const queued = this.queued;
    this.queued = [];
    for (const change of queued) listener(change);
  }

  /** From the live folder, synchronously as the store announces the change. */
  deliver(change: FolderChange, recent: boolean): void {
    if (this.isClosed) return;
    switch (change.kind) {
      case 'appended':
        return this.emit({ kind: 'appended', messages: states(change.entries), recent });
      case 'flags':
        return this.emit({ kind: 'flags', messages: states(change.entries), own: change.origin === this });
      case 'expunged':
        return this.emit({ kind: 'expunged', uids: [...change.uids] });
      case 'deleted':
        return this.emit({ kind: 'gone' });
      default:
        return;
    }
  }

  fetch(uids: readonly number[], needs: FetchNeeds): AsyncIterable<MessageView> {
    return fetchMessages(this.live, this.context.store, this.context.envelopes, uids, needs);
  }

  async store(uids: readonly number[], mode: 'set' | 'add' | 'remove', flags: readonly string[], unchangedSince?: number): Promise<{ modified: number[] }> {
    this.writable('STORE');
    const wanted = clientFlags(flags, this.live.keywords);
    return this.live.serial(async () => {
      const changes: { uid: number; flags: string[] }[] = [];
      const modified: number[] = [];
      for (const uid of uids) {
        const at = this.live.position(uid);
        if (at < 0) continue;
        // RFC 7162 3.1.3: a message changed after the client's MODSEQ is left alone and reported.
        if (unchangedSince !== undefined && this.live.modseqs[at]! > unchangedSince) {
          modified.push(uid);
          continue;
        }
        const current = this.live.flagsAt(at);
        const next = applyFlags(current, mode, wanted);
        if (!sameFlags(current, next)) changes.push({ uid, flags: next });
      }
      if (changes.length === 0) return { modified: ascendingUnique(modified) };
      const options = unchangedSince === undefined ? { origin: this } : { unchangedSince, origin: this };
      const result = await translated(() => this.context.store.setFlags(this.live.id, changes, options));
      return { modified: ascendingUnique([...modified, ...result.conflicts]) };
    });
  }

  async expunge(uids?: readonly number[]): Promise<number[]> {
    this.writable('EXPUNGE');
    return this.live.serial(async () => {
      const wanted = uids ? new Set(uids) : null;
      const deleted: number[] = [];
      for (let at = 0; at < this.live.count; at++) {
        const uid = this.live.uids[at]!;
        if ((!wanted || wanted.has(uid)) && this.live.flagsAt(at).includes('\\Deleted')) deleted.push(uid);
      }
      if (deleted.length === 0) return [];
      return translated(() => this.context.store.expunge(this.live.id, deleted));
    });
  }

  async copy(uids: readonly number[], target: string, move: boolean): Promise<{ uidValidity: number; pairs: [number, number][] }> {
    if (move) this.writable('MOVE');
    // RFC 3501 6.4.7: a target that is not there is TRYCREATE, so the client may create it and retry.
    const folder = await translated(() => this.context.store.getFolder(this.context.user, target));
    if (!folder) throw backendError('TRYCREATE');
    const present = ascendingUnique(uids.filter((uid) => this.live.position(uid) >= 0));
    const run = () => translated(() => this.context.store.copy(this.live.id, present, folder.id, move), { NOT_FOUND: 'TRYCREATE' });
    return move ? this.live.serial(run) : run();
  }

  vanishedSince(modseq: number): Promise<number[]> {
    return translated(() => this.context.store.vanishedSince(this.live.id, modseq));
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queued = [];
    this.live.subscribers.delete(this);
    this.context.closed(this);
  }

  /** The live folder this view is on (for the account). */
  get folder(): LiveFolder {
    return this.live;
  }

  private writable(command: string): void {
    if (this.readOnly) throw backendError('CANNOT', `${command} is not allowed in a mailbox opened with EXAMINE`);
  }

  private emit(change: SelectedChange): void {
    if (this.listeners.length === 0) this.queued.push(change);
    else for (const listener of this.listeners) listener(change);
  }
}

function ascendingUnique(uids: readonly number[]): number[] {
  return [...new Set(uids)].sort((a, b) => a - b);
}
