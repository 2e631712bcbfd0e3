// Schema 1 -> 2: each user's one INBOX becomes a tree of folders. Every v1 mailbox (`mailboxes`
// <user>\0<name>) becomes a folder with the same UIDVALIDITY and UIDNEXT and a new id; every v1 entry
// (`entries` <user>\0<name>\0<uid>) becomes a folder entry under the same UID, MODSEQ 1 (the folder's
// HIGHESTMODSEQ 1: no change has been seen yet); counters (messages, unseen, bytes) are counted again;
// every user gets the default folders; and every stored message is indexed once when an indexer is
// given (else `letterbox check` does it later). All of it goes in the one batch db.ts writes with the
// new version number: a crash at any instant leaves a store wholly of version 1 or wholly of version 2.
import type { Batch } from './batch.js';
import type { OpenOptions, Sublevels } from './db.js';
import { DEFAULT_FOLDERS } from './folder-names.js';
import { entryKey, newId, SEP } from './ids.js';
import { indexStoredMessage } from './message-index.js';
import type { EntryRecord, FolderEntryRecord, FolderRecord, MailboxRecord } from './records.js';

const SPECIAL_USE = new Map(DEFAULT_FOLDERS.map((f) => [f.name, f.specialUse]));

export async function migrateToFolders(sub: Sublevels, batch: Batch, options: OpenOptions): Promise<void> {
  const folders = new Migrated(((await sub.meta.get('uidValidity')) as number | undefined) ?? 0);
  for await (const [key, value] of sub.mailboxes.iterator()) {
    const v1 = value as MailboxRecord;
    folders.keep(key, v1.uidValidity, v1.uidNext);
    batch.del(sub.mailboxes, key);
  }
  const indexed = new Set<string>();
  for await (const [key, value] of sub.entries.iterator()) {
    const [user, name, uidText, extra] = key.split(SEP);
    if (user === undefined || name === undefined || uidText === undefined || extra !== undefined) continue;
    const uid = Number(uidText);
    const v1 = value as EntryRecord;
    const folder = folders.get(`${user}${SEP}${name}`);
    folder.uidNext = Math.max(folder.uidNext, uid + 1);
    folder.messages += 1;
    folder.bytes += v1.size;
    if (!v1.flags.some((flag) => flag.toLowerCase() === '\\seen')) folder.unseen += 1;
    const entry: FolderEntryRecord = { messageId: v1.messageId, size: v1.size, flags: v1.flags, internalDate: v1.internalDate, modseq: 1 };
    batch.del(sub.entries, key);
    batch.put(sub.entries, entryKey(folder.id, uid), entry);
    // A message in two users' INBOX is indexed once: the index is the message's, not the entry's.
    if (options.indexer && !indexed.has(v1.messageId)) {
      indexed.add(v1.messageId);
      const index = await indexStoredMessage(sub, v1.messageId, options.indexer);
      if (index !== undefined) batch.put(sub.indexes, v1.messageId, index);
    }
  }
  for await (const user of sub.users.keys()) {
    for (const { name } of DEFAULT_FOLDERS) folders.get(`${user}${SEP}${name}`);
  }
  for (const [key, record] of folders.records) batch.put(sub.folders, key, record);
  batch.put(sub.meta, 'uidValidity', folders.lastUidValidity);
}

/** The folders being made, by `<user>\0<name>`. */
class Migrated {
  readonly records = new Map<string, FolderRecord>();
  private readonly now = Date.now();

  constructor(public lastUidValidity: number) {}

  keep(key: string, uidValidity: number, uidNext: number): FolderRecord {
    const name = key.slice(key.indexOf(SEP) + 1);
    const record: FolderRecord = {
      id: newId(), uidValidity, uidNext, highestModseq: 1, messages: 0, unseen: 0, bytes: 0,
      specialUse: SPECIAL_USE.get(name) ?? null, subscribed: true, createdAt: this.now,
    };
    this.records.set(key, record);
    this.lastUidValidity = Math.max(this.lastUidValidity, uidValidity);
    return record;
  }

  /** The folder of that key, made (with a new UIDVALIDITY) when v1 had no record for it. */
  get(key: string): FolderRecord {
    const known = this.records.get(key);
    if (known) return known;
    const uidValidity = Math.max(Math.floor(this.now / 1000), this.lastUidValidity + 1);
    return this.keep(key, uidValidity, 1);
  }
}
