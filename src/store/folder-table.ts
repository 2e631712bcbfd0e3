// Every folder record of the store, held in memory: a few dozen per user, read at open and kept in step
// by the write lane (lane.ts), which hands over each batch's folder writes once the batch is durable.
// LIST, STATUS, quota and the folder-id look-ups of every IMAP command thus read no disk, and readers
// see only what is durable.
import type { Sublevels } from './db.js';
import { SEP } from './ids.js';
import type { FolderRecord } from './records.js';

export interface LocatedFolder {
  user: string;
  name: string;
  record: FolderRecord;
}

/** Folder writes of one batch: a record, or null for a folder deleted. */
export type FolderWrites = Map<string, Map<string, FolderRecord | null>>;

export class FolderTable {
  private readonly byUser = new Map<string, Map<string, FolderRecord>>();
  private readonly ids = new Map<string, { user: string; name: string }>();
  /** The last UIDVALIDITY given out (`meta` uidValidity). */
  lastUidValidity = 0;

  static async load(sub: Sublevels): Promise<FolderTable> {
    const table = new FolderTable();
    for await (const [key, value] of sub.folders.iterator()) {
      const cut = key.indexOf(SEP);
      table.set(key.slice(0, cut), key.slice(cut + 1), value as FolderRecord);
    }
    table.lastUidValidity = ((await sub.meta.get('uidValidity')) as number | undefined) ?? 0;
    return table;
  }

  get(user: string, name: string): FolderRecord | undefined {
    return this.byUser.get(user)?.get(name);
  }

  locate(id: string): LocatedFolder | undefined {
    const at = this.ids.get(id);
    const record = at && this.get(at.user, at.name);
    return at && record ? { ...at, record } : undefined;
  }

  /** The user's folders by name (unordered). */
  foldersOf(user: string): ReadonlyMap<string, FolderRecord> {
    return this.byUser.get(user) ?? new Map();
  }

  users(): string[] {
    return [...this.byUser.keys()];
  }

  apply(writes: FolderWrites): void {
    for (const [user, names] of writes) {
      for (const [name, record] of names) {
        const old = this.get(user, name);
        if (old) {
          this.byUser.get(user)?.delete(name);
          if (this.ids.get(old.id)?.name === name && this.ids.get(old.id)?.user === user) this.ids.delete(old.id);
        }
        if (record) this.set(user, name, record);
      }
      if (this.byUser.get(user)?.size === 0) this.byUser.delete(user);
    }
  }

  /** Forgets everything and reads the key space again (after a repair that rewrote it). */
  async reload(sub: Sublevels): Promise<void> {
    const fresh = await FolderTable.load(sub);
    this.byUser.clear();
    this.ids.clear();
    for (const [user, names] of fresh.byUser) for (const [name, record] of names) this.set(user, name, record);
    this.lastUidValidity = fresh.lastUidValidity;
  }

  private set(user: string, name: string, record: FolderRecord): void {
    let names = this.byUser.get(user);
    if (!names) this.byUser.set(user, (names = new Map()));
    names.set(name, record);
    this.ids.set(record.id, { user, name });
  }
}
