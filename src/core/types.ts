// Domain types shared by every subsystem. Plain data only: what is stored, listed and sent on the bus.

/** Per-recipient delivery state of a queued message (RFC 3464 vocabulary for the final ones). */
export type RecipientState = 'queued' | 'inflight' | 'deferred' | 'delivered' | 'bounced';

/** SMTP DSN parameters a client gave for one recipient (RFC 3461 4.1, 4.2). */
export interface RecipientDsn {
  notify?: string[];
  orcpt?: string;
}

export interface QueueRecipient {
  address: string;
  state: RecipientState;
  attempts: number;
  /** The last answer of the far side or the local reason, as it should appear in a DSN. */
  lastError?: string;
  /** The RFC 3463 code of that answer (`4.2.2`), kept as given rather than read back out of the text. */
  status?: string;
  dsn?: RecipientDsn;
  updatedAt: number;
  /** When a deferred recipient is tried next; absent for one never tried. */
  nextAttemptAt?: number;
  /** The server that gave the last answer. */
  remoteMta?: string;
}

/** One message waiting in the outbound queue, with its state per recipient. */
export interface QueueEntry {
  id: string;
  /** The stored message (see MailStore); the queue holds one reference on it. */
  messageId: string;
  /** Envelope sender; '' is the null reverse-path `<>`. */
  sender: string;
  recipients: QueueRecipient[];
  size: number;
  createdAt: number;
  /** The earliest next attempt of its pending recipients. */
  nextAttemptAt: number;
  attempts: number;
  lastError?: string;
  /** RFC 3461 4.3 and 4.4 */
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** Set once a delay warning DSN has gone out. */
  warnedAt?: number;
}

export interface User {
  address: string;
  /** Bytes; 0 means no limit. */
  quota: number;
  createdAt: number;
}

export interface UserSummary extends User {
  messages: number;
  bytes: number;
}

export interface Alias {
  /** `name@domain`, or `@domain` for a catch-all. */
  alias: string;
  targets: string[];
}

/** Where a recipient address goes once domains, users, aliases and plus-addressing are applied. */
export interface Resolution {
  /** Local mailbox owners (user addresses), without duplicates. */
  local: string[];
  /** Addresses outside the box's domains (forwarding aliases, or the address itself). */
  remote: string[];
}

/** A message stored by the MailStore, as the mailbox and queue code see it. */
export interface StoredMessage {
  id: string;
  size: number;
  receivedAt: number;
}

/** An entry of a mailbox: which stored message, under which UID, with which flags. */
export interface MailboxEntry {
  uid: number;
  messageId: string;
  size: number;
  flags: string[];
  internalDate: number;
}

/** The upstream smarthost (`letterbox relay set`), kept in the store's settings. */
export interface RelaySettings {
  host: string;
  port: number;
  /** `starttls`: STARTTLS is required; `implicit`: TLS from the first byte (465). */
  tls: 'starttls' | 'implicit';
  user?: string;
  password?: string;
  /** `fallback`: only when direct delivery fails temporarily; `always`: every remote message; `never`: off. */
  mode: 'fallback' | 'always' | 'never';
}

/** What became of one recipient in one delivery attempt. */
export interface DeliveryOutcome {
  address: string;
  status: 'delivered' | 'deferred' | 'bounced';
  /** The far side's answer (`550 5.1.1 <x@y>: no such user`) or our own reason, fit for a DSN. */
  reply: string;
  /** RFC 3463 code, e.g. `5.1.1`; derived from the reply when the far side gave none. */
  enhancedCode: string;
  /** Host name (or address) of the server that gave the answer, for the DSN's Remote-MTA. */
  remoteMta?: string;
  via: 'mx' | 'smarthost' | 'local';
}

/** What `letterbox check` found in the store and did about it (store/check.ts). */
export interface StoreCheckReport {
  /** True when nothing needed repair. */
  consistent: boolean;
  /** Whether every chunk was read (else the records only). */
  bodies: boolean;
  messages: number;
  entries: number;
  queueEntries: number;
  chunks: number;
  /** Messages found incomplete, set aside with the mailbox and queue entries that pointed at them. */
  damaged: { messageId: string; reason: string; entries: string[]; queueIds: string[] }[];
  /** Chunks of no message, deleted. */
  orphanChunks: number;
  /** Messages nobody pointed at, deleted. */
  unreferenced: number;
  referenceCountsFixed: number;
  /** `user folder` whose counters (messages, unseen, bytes, uidNext, highestModseq) were corrected. */
  countersFixed: string[];
  /** Folder entries (and vanished UIDs) of no folder, deleted. */
  orphanEntries: number;
  /** Indexes of messages that are gone, deleted. */
  staleIndexes: number;
  /** Messages in a folder that had no index and were indexed by the check. */
  reindexed: number;
  /** Messages in a folder without an index that stay so (no indexer was given to the check). */
  unindexed: number;
}

/**
 * A user's folder (an IMAP mailbox; "mailbox" in this code means the user's whole account of folders).
 * Every user has INBOX, Sent, Drafts, Trash, Junk and Archive (RFC 6154 SPECIAL-USE); `/` separates levels.
 */
export interface Folder {
  /** Immutable; keys the folder's entries, so a RENAME rewrites one record, not every message. */
  id: string;
  user: string;
  /** Full name, levels joined with `/`, as UTF-8 text; INBOX is always spelled `INBOX`. */
  name: string;
  /** RFC 3501 2.3.1.1; a folder deleted and made again under the same name gets a new one. */
  uidValidity: number;
  uidNext: number;
  /** RFC 7162 3.1.1: the highest MODSEQ of any change in the folder (1 for a new, empty folder). */
  highestModseq: number;
  messages: number;
  /** Messages without `\Seen`, kept as a counter so STATUS (UNSEEN) needs no scan. */
  unseen: number;
  bytes: number;
  /** RFC 6154 attribute (`\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`) or null. */
  specialUse: string | null;
  subscribed: boolean;
}

/** One message in one folder. */
export interface FolderEntry {
  uid: number;
  messageId: string;
  size: number;
  /** System flags (`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`) and keywords, as set; never `\Recent`. */
  flags: string[];
  /** ms since the epoch (RFC 3501 2.3.3). */
  internalDate: number;
  /** RFC 7162 3.1: the MODSEQ of the entry's last change. */
  modseq: number;
}

/** A user's use of their quota (RFC 9208 STORAGE and MESSAGE), over every folder. */
export interface QuotaUsage {
  bytes: number;
  messages: number;
  /** Bytes; 0 means no limit. */
  quota: number;
}

/**
 * What changed in a folder, announced after the batch that made the change is durable. Every change to
 * a folder comes through here, whoever made it (SMTP delivery, an IMAP or POP3 session, a DSN, an
 * administrator), in the order the batches were written.
 */
export type FolderChange =
  | { kind: 'appended'; user: string; folderId: string; entries: FolderEntry[]; uidNext: number; highestModseq: number }
  /** `origin`: what the caller of setFlags passed, so a session can tell its own changes. */
  | { kind: 'flags'; user: string; folderId: string; entries: FolderEntry[]; highestModseq: number; origin?: unknown }
  | { kind: 'expunged'; user: string; folderId: string; uids: number[]; highestModseq: number }
  | { kind: 'renamed'; user: string; folderId: string; name: string }
  | { kind: 'deleted'; user: string; folderId: string };
