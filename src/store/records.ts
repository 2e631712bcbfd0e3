// Shapes of the values stored in each key space (see db.ts for the layout).

export interface UserRecord {
  address: string;
  passwordHash: string;
  quota: number;
  createdAt: number;
}

export interface MailboxRecord {
  /** RFC 3501 2.3.1.1: changes only if UIDs of this mailbox are ever reused. */
  uidValidity: number;
  uidNext: number;
  messages: number;
  bytes: number;
}

export interface EntryRecord {
  messageId: string;
  size: number;
  flags: string[];
  internalDate: number;
}

export interface MessageRecord {
  size: number;
  chunks: number;
  /** Mailbox entries plus queue entries that point at this message. */
  refs: number;
  receivedAt: number;
}

export interface AliasRecord {
  targets: string[];
}
