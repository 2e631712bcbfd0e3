// Shapes of the values stored in each key space (see db.ts for the layout).

export interface UserRecord {
  address: string;
  passwordHash: string;
  quota: number;
  createdAt: number;
}

/** Schema 1's mailbox record (`mailboxes` key space), read only by the migration to schema 2. */
export interface MailboxRecord {
  /** RFC 3501 2.3.1.1: changes only if UIDs of this mailbox are ever reused. */
  uidValidity: number;
  uidNext: number;
  messages: number;
  bytes: number;
}

/** Schema 1's mailbox entry, read only by the migration to schema 2. */
export interface EntryRecord {
  messageId: string;
  size: number;
  flags: string[];
  internalDate: number;
}

export interface MessageRecord {
  size: number;
  chunks: number;
  /** Folder entries plus queue entries that point at this message. */
  refs: number;
  receivedAt: number;
}

export interface AliasRecord {
  targets: string[];
}

/** A user's folder (schema 2), keyed `<user>\0<name>`; the id keys its entries and vanished UIDs. */
export interface FolderRecord {
  id: string;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  messages: number;
  unseen: number;
  bytes: number;
  specialUse: string | null;
  subscribed: boolean;
  createdAt: number;
}

/** One message in one folder (schema 2), keyed `<folderId>\0<uid, 10 digits>`. */
export interface FolderEntryRecord {
  messageId: string;
  size: number;
  flags: string[];
  internalDate: number;
  modseq: number;
}
