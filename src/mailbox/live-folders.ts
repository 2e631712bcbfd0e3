// The live folders of the whole backend: one LiveFolder per folder some session has selected, and the
// one FolderStore.onChange listener that keeps them current and passes each change on to every
// session on the folder, synchronously (so a session's own STORE is announced before store() resolves).
// A folder no session holds any more is kept, current, for the next SELECT (a client reconnects often:
// Dovecot keeps its index files mapped for the same reason), the least recently released first out
// once the kept folders hold more than `keepMessages` messages in all.
import type { FolderStore } from '../core/interfaces.js';
import type { FolderChange } from '../core/types.js';
import { EnvelopeCache } from './envelope-cache.js';
import { backendError } from './errors.js';
import { LiveFolder } from './live-folder.js';
import { RecentTracker } from './recent.js';

interface Slot {
  /** Set once loaded. */
  live: LiveFolder | null;
  ready: Promise<LiveFolder>;
  /** Changes that came while loading, applied over what the load read. */
  pending: FolderChange[];
  /** Sessions holding the folder, and those waiting for it to load. */
  holders: number;
}

/** Messages in all the folders kept with no session on them (a 10k folder costs about 1 MB). */
export const DEFAULT_KEEP_MESSAGES = 50_000;

export class LiveFolders {
  readonly recent = new RecentTracker();
  readonly envelopes: EnvelopeCache;
  private readonly slots = new Map<string, Slot>();
  /** Loaded folders no session holds, least recently released first (they stay in `slots`, kept current). */
  private readonly idle = new Set<string>();
  private readonly stopListening: () => void;

  constructor(
    private readonly store: FolderStore,
    envelopeCacheSize?: number,
    /** Told when a session's listener throws: the store's listeners must not (FolderStore.onChange). */
    private readonly listenerFailed: (err: unknown) => void = () => {},
    private readonly keepMessages = DEFAULT_KEEP_MESSAGES,
  ) {
    this.envelopes = new EnvelopeCache(envelopeCacheSize);
    this.stopListening = store.onChange((change) => this.onStoreChange(change));
  }

  /** The live state of a folder (loaded if no session has it yet); release() it when done. */
  async acquire(user: string, name: string, folderId: string): Promise<LiveFolder> {
    let slot = this.slots.get(folderId);
    if (!slot) {
      const fresh: Slot = { live: null, ready: Promise.resolve(null as unknown as LiveFolder), pending: [], holders: 0 };
      fresh.ready = this.load(user, name, folderId, fresh);
      this.slots.set(folderId, fresh);
      slot = fresh;
    }
    this.idle.delete(folderId);
    slot.holders += 1;
    try {
      return await slot.ready;
    } catch (err) {
      this.drop(folderId, slot);
      throw err;
    }
  }

  release(live: LiveFolder): void {
    const slot = this.slots.get(live.id);
    if (slot?.live === live) this.drop(live.id, slot);
  }

  /** Folders some session holds now (for tests and metrics). */
  get size(): number {
    return this.slots.size - this.idle.size;
  }

  /** Folders kept loaded with no session on them. */
  get kept(): number {
    return this.idle.size;
  }

  /** The live state of a folder if some session has it loaded. */
  loaded(folderId: string): LiveFolder | null {
    return this.slots.get(folderId)?.live ?? null;
  }

  stop(): void {
    this.stopListening();
  }

  private drop(folderId: string, slot: Slot): void {
    slot.holders -= 1;
    if (slot.holders > 0 || this.slots.get(folderId) !== slot) return;
    if (!slot.live || slot.live.gone || slot.live.count > this.keepMessages) {
      this.slots.delete(folderId);
      return;
    }
    this.idle.add(folderId);
    this.trimIdle();
  }

  /** Forgets the least recently released folders until the rest fit in keepMessages. */
  private trimIdle(): void {
    let total = 0;
    for (const id of this.idle) total += this.slots.get(id)?.live?.count ?? 0;
    for (const id of this.idle) {
      if (total <= this.keepMessages) break;
      total -= this.slots.get(id)?.live?.count ?? 0;
      this.idle.delete(id);
      this.slots.delete(id);
    }
  }

  private async load(user: string, name: string, folderId: string, slot: Slot): Promise<LiveFolder> {
    // The slot is registered before these reads, so every change after them is in `pending`.
    await Promise.resolve();
    const folder = await this.store.getFolder(user, name);
    if (!folder || folder.id !== folderId) throw backendError('NONEXISTENT');
    const live = new LiveFolder(folder, await this.store.listEntries(folderId));
    for (const change of slot.pending) live.apply(change);
    slot.pending = [];
    if (live.gone) throw backendError('NONEXISTENT');
    slot.live = live;
    return live;
  }

  private onStoreChange(change: FolderChange): void {
    this.recent.apply(change);
    const slot = this.slots.get(change.folderId);
    if (!slot) return;
    if (!slot.live) {
      slot.pending.push(change);
      return;
    }
    const live = slot.live;
    const last = live.uids.at(-1) ?? 0;
    live.apply(change);
    // The load may have read a commit whose announcement comes after it: sessions already have those.
    if (change.kind === 'appended' && change.entries.some((entry) => entry.uid <= last)) {
      change = { ...change, entries: change.entries.filter((entry) => entry.uid > last) };
      if (change.entries.length === 0) return;
    }
    // RFC 3501 2.3.2: new mail is recent for one session only: the first read-write one to have the
    // folder selected, which claims it. With none, read-only sessions see it as recent, unclaimed.
    let claimer: unknown = null;
    if (change.kind === 'appended' && change.entries.length > 0) {
      claimer = [...live.subscribers].find((subscriber) => !subscriber.readOnly) ?? null;
      if (claimer) this.recent.claim(live.id, live.uidNext);
    }
    for (const subscriber of [...live.subscribers]) {
      try {
        subscriber.deliver(change, change.kind === 'appended' && (claimer === null ? subscriber.readOnly : subscriber === claimer));
      } catch (err) {
        this.listenerFailed(err);
      }
    }
    if (live.gone) {
      this.slots.delete(change.folderId);
      this.idle.delete(change.folderId);
    } else if (change.kind === 'appended' && this.idle.has(change.folderId)) this.trimIdle();
  }
}
