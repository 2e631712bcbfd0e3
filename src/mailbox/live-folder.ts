// The state of one folder that sessions have selected, shared by all of them: loaded once from the
// store when the first session selects it, kept current from FolderStore.onChange, dropped when the
// last session closes (live-folders.ts). Ten thousand messages must cost little, so the state is
// parallel arrays of numbers (and the message ids) in UID order, flag lists interned: most messages of
// a folder share a handful of combinations ([], [\Seen], [\Seen \Answered] ...).
import type { Folder, FolderChange, FolderEntry } from '../core/types.js';
import type { FolderMessageState } from '../imap/backend.js';
import { KeywordSpelling } from './flags.js';

/** Interned flag lists: an id per distinct set of flags, the list frozen and shared. */
export class FlagSets {
  private readonly lists: (readonly string[])[] = [];
  private readonly ids = new Map<string, number>();
  /** The list last asked about and its id: a folder loads thousands of neighbours with equal flags. */
  private last: { flags: readonly string[]; id: number } | null = null;

  id(flags: readonly string[]): number {
    const last = this.last;
    if (last && last.flags.length === flags.length && last.flags.every((flag, i) => flag === flags[i])) return last.id;
    const id = this.lookUp(flags);
    this.last = { flags: [...flags], id };
    return id;
  }

  private lookUp(flags: readonly string[]): number {
    const key = [...flags].sort().join(' ');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push(Object.freeze([...flags]));
      this.ids.set(key, id);
    }
    return id;
  }

  get(id: number): readonly string[] {
    return this.lists[id]!;
  }
}

/** Something a LiveFolder tells its changes to (a SelectedFolder). */
export interface LiveSubscriber {
  readonly readOnly: boolean;
  deliver(change: FolderChange, recent: boolean): void;
}

export class LiveFolder {
  readonly id: string;
  readonly user: string;
  readonly uidValidity: number;
  name: string;
  uidNext: number;
  highestModseq: number;
  /** True once the folder was deleted: sessions are told and it takes no more subscribers. */
  gone = false;
  // One slot per message, in UID order.
  uids: number[] = [];
  modseqs: number[] = [];
  flagIds: number[] = [];
  messageIds: string[] = [];
  sizes: number[] = [];
  dates: number[] = [];
  readonly flagSets = new FlagSets();
  readonly keywords = new KeywordSpelling();
  /** In the order they selected the folder: the first read-write one gets new mail as \Recent. */
  readonly subscribers = new Set<LiveSubscriber>();

  /** Flag and expunge operations of this process's sessions, one at a time (see serial()). */
  private operations: Promise<unknown> = Promise.resolve();

  constructor(folder: Folder, entries: readonly FolderEntry[]) {
    this.id = folder.id;
    this.user = folder.user;
    this.uidValidity = folder.uidValidity;
    this.name = folder.name;
    this.uidNext = folder.uidNext;
    this.highestModseq = folder.highestModseq;
    for (const entry of entries) this.push(entry);
  }

  get count(): number {
    return this.uids.length;
  }

  /** Index of `uid`, or -1. */
  position(uid: number): number {
    const uids = this.uids;
    let low = 0;
    let high = uids.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const at = uids[mid]!;
      if (at === uid) return mid;
      if (at < uid) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  /** Index of the first UID at or above `uid`. */
  firstAtOrAbove(uid: number): number {
    let low = 0;
    let high = this.uids.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.uids[mid]! < uid) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  flagsAt(position: number): readonly string[] {
    return this.flagSets.get(this.flagIds[position]!);
  }

  stateAt(position: number): FolderMessageState {
    return { uid: this.uids[position]!, flags: [...this.flagsAt(position)], modseq: this.modseqs[position]! };
  }

  /**
   * Runs `work` after the operations queued before it: STORE computes each new flag list from the
   * state here, and two sessions adding different flags at once must not each overwrite the other's.
   */
  serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.operations.then(work, work);
    this.operations = run.catch(() => undefined);
    return run;
  }

  /**
   * Applies a change of the store. Idempotent, so that changes made while the folder was being loaded
   * can be applied over what the load read, whichever of them it already saw.
   */
  apply(change: FolderChange): void {
    switch (change.kind) {
      case 'appended':
        for (const entry of change.entries) if (entry.uid > (this.uids.at(-1) ?? 0)) this.push(entry);
        this.uidNext = Math.max(this.uidNext, change.uidNext);
        break;
      case 'flags':
        for (const entry of change.entries) {
          const at = this.position(entry.uid);
          if (at < 0 || entry.modseq < this.modseqs[at]!) continue;
          this.keywords.learn(entry.flags);
          this.flagIds[at] = this.flagSets.id(entry.flags);
          this.modseqs[at] = entry.modseq;
        }
        break;
      case 'expunged':
        this.remove(change.uids);
        break;
      case 'renamed':
        this.name = change.name;
        return;
      case 'deleted':
        this.gone = true;
        return;
    }
    this.highestModseq = Math.max(this.highestModseq, change.highestModseq);
  }

  private push(entry: FolderEntry): void {
    this.keywords.learn(entry.flags);
    this.uids.push(entry.uid);
    this.modseqs.push(entry.modseq);
    this.flagIds.push(this.flagSets.id(entry.flags));
    this.messageIds.push(entry.messageId);
    this.sizes.push(entry.size);
    this.dates.push(entry.internalDate);
  }

  private remove(uids: readonly number[]): void {
    const gone = new Set(uids.filter((uid) => this.position(uid) >= 0));
    if (gone.size === 0) return;
    const keep = (_: unknown, i: number) => !gone.has(this.uids[i]!);
    this.modseqs = this.modseqs.filter(keep);
    this.flagIds = this.flagIds.filter(keep);
    this.messageIds = this.messageIds.filter(keep);
    this.sizes = this.sizes.filter(keep);
    this.dates = this.dates.filter(keep);
    this.uids = this.uids.filter((uid) => !gone.has(uid));
  }
}
