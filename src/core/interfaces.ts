// Contracts between subsystems. Implementations live in store/ (and later mailbox/); consumers
// (smtp/, queue/, delivery/, web/, admin/) depend on these alone.
import type { Readable } from 'node:stream';
import type { Alias, DeliveryOutcome, Folder, FolderChange, FolderEntry, MailboxEntry, QueueEntry, QuotaUsage, RecipientDsn, Resolution, StoredMessage, UserSummary, User } from './types.js';

export interface Directory {
  listDomains(): Promise<string[]>;
  addDomain(domain: string): Promise<void>;
  deleteDomain(domain: string): Promise<void>;
  isLocalDomain(domain: string): Promise<boolean>;

  addUser(address: string, password: string, quota?: number): Promise<User>;
  deleteUser(address: string): Promise<void>;
  setPassword(address: string, password: string): Promise<void>;
  /** Bytes over every folder of the user; 0 removes the limit. NOT_FOUND for nobody of that address. */
  setQuota(address: string, quota: number): Promise<void>;
  getUser(address: string): Promise<User | null>;
  listUsers(): Promise<UserSummary[]>;
  /**
   * A user's use of their quota over every folder (null for nobody of that address), for SMTP to refuse
   * mail for a full mailbox at RCPT. Optional: without it, nothing is refused for quota.
   */
  quotaState?(address: string): Promise<QuotaUsage | null>;

  addAlias(alias: string, targets: string[]): Promise<Alias>;
  deleteAlias(alias: string): Promise<void>;
  listAliases(): Promise<Alias[]>;

  /** Applies aliases, catch-all and plus-addressing. Null when the domain is local but nobody has the address. */
  resolve(address: string): Promise<Resolution | null>;
  /** May `user` use `sender` as envelope or From address? Their own address (with a +detail) or an alias that reaches them. */
  maySendAs(user: string, sender: string): Promise<boolean>;
}

export interface Authenticator {
  /** The user's canonical address when the password is right, else null. Constant time in the password. */
  authenticate(username: string, password: string): Promise<string | null>;
}

/** What a message that is being received turns into once committed. */
export interface Disposition {
  /** When it arrived (ms since the epoch); now when absent. The queue passes its own clock's time. */
  receivedAt?: number;
  /** Local users whose INBOX gets the message. */
  mailboxes: string[];
  /** When some recipients are remote: the outbound queue entry to create. */
  queue?: {
    sender: string;
    recipients: { address: string; dsn?: RecipientDsn }[];
    ret?: 'FULL' | 'HDRS';
    envid?: string;
  };
  /** A queue entry written in the same batch: the one a DSN being committed reports on. */
  settles?: QueueEntry;
}

export interface CommitResult {
  messageId: string;
  queueId?: string;
  size: number;
}

/**
 * A message on its way into the store. Bytes are written in chunks as they arrive; nothing is visible
 * to anyone until commit(), which writes message, mailbox entries and queue entry in one synced batch.
 */
export interface MessageWriter {
  readonly messageId: string;
  /** Octets stored so far: a bare LF written becomes CRLF in the store (core/line-ends.ts), unless created `binary`. */
  readonly size: number;
  write(chunk: Buffer): Promise<void>;
  commit(disposition: Disposition): Promise<CommitResult>;
  /** Drops everything written so far. Safe to call more than once and after a failed commit. */
  abort(): Promise<void>;
}

/** A recipient of new mail with where RCPT TO (or the DSN's sender look-up) found it goes. */
export interface RoutedRecipient {
  address: string;
  route: Resolution;
  dsn?: RecipientDsn;
}

/** New mail about to be committed: its envelope, each recipient routed. */
export interface NewMessage {
  /** '' is the null reverse-path. */
  sender: string;
  recipients: RoutedRecipient[];
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** When it arrived (ms since the epoch); now when absent. */
  receivedAt?: number;
}

/**
 * The one door for new mail, used by SMTP's DATA and by the queue's DSNs alike: where each recipient
 * goes, the commit of message, mailbox entries and queue entry in one synced batch, and the queue told
 * of its new entry at once (not through the bus, where a listener could be missing or late).
 */
export interface MailIntake {
  /**
   * Where mail to `address` goes: at a local domain, with aliases, catch-all and plus-addressing applied
   * (null when nobody there has it); at any other domain, out as it is. Whether it may go out is the
   * caller's policy (no relay), not this.
   */
  route(address: string): Promise<Resolution | null>;
  /** `settles`: a queue entry written in the same batch (the one a DSN reports on). */
  commit(writer: MessageWriter, message: NewMessage, settles?: QueueEntry): Promise<CommitResult>;
}

export interface MailStore {
  /**
   * `binary`: the bytes are kept exactly as written (an IMAP APPEND sent as a literal8, RFC 3516 4.4,
   * whose binary parts a line-end conversion would corrupt); otherwise bare LF becomes CRLF.
   */
  createMessage(options?: { binary?: boolean }): Promise<MessageWriter>;
  getMessage(messageId: string): Promise<StoredMessage | null>;
  /** Streams a stored message's bytes chunk by chunk. */
  openMessage(messageId: string): Readable;
  listMailbox(user: string, mailbox: string): Promise<MailboxEntry[]>;
  /** Bytes still free on the file system that holds the store. */
  freeSpace(): Promise<number>;
}

export interface QueueStore {
  listQueue(): Promise<QueueEntry[]>;
  getQueueEntry(id: string): Promise<QueueEntry | null>;
  /**
   * Records where an entry stands after an attempt, in one durable batch: saves it, or, once every
   * recipient is delivered or bounced, removes it and drops its reference on the message. (A DSN about
   * it is committed with it through `Disposition.settles` instead.)
   */
  settleQueueEntry(entry: QueueEntry): Promise<void>;
  /** Removes an entry and its reference on the message, without any notice (`letterbox queue delete`). */
  deleteQueueEntry(id: string): Promise<void>;
}

/** One queued message handed to a delivery agent, with the recipients to try now (all at one domain). */
export interface OutboundMessage {
  queueId: string;
  /** '' is the null reverse-path. */
  sender: string;
  recipients: { address: string; dsn?: RecipientDsn }[];
  size: number;
  envid?: string;
  ret?: 'FULL' | 'HDRS';
  /** Opens the stored message bytes; may be called more than once (a retry through the smarthost). */
  open(): Readable;
}

export interface DeliveryAgent {
  /**
   * Delivers messages whose recipients are all at `domain`, reusing one connection per server for all
   * of them. Never throws for a remote failure: every recipient comes back with an outcome.
   * `signal` ends the attempt early: connections are dropped at once, and recipients not yet accepted
   * come back as temporary failures.
   */
  deliver(
    domain: string,
    messages: OutboundMessage[],
    onDelivered?: (queueId: string, outcome: DeliveryOutcome) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<Map<string, DeliveryOutcome[]>>;
  /** True while direct connections to port 25 seem blocked and mail goes straight to the smarthost. */
  readonly outboundBlocked: boolean;
}

export interface SettingsStore {
  getSetting<T>(name: string): Promise<T | undefined>;
  putSetting(name: string, value: unknown): Promise<void>;
}

/** The operations on the outbound queue that `letterbox queue` offers, running or not. */
export interface QueueControl {
  /** Entries with the live state of each recipient (`inflight` while an attempt runs). */
  listQueue(): Promise<QueueEntry[]>;
  /** Makes an entry (or every entry) due now; returns how many were. */
  retry(id?: string): Promise<number>;
  /** Drops an entry without telling anyone. */
  remove(id: string): Promise<void>;
  /** Gives up on an entry's pending recipients now, with a DSN to the sender. */
  bounce(id: string): Promise<void>;
}

/**
 * Reads a message once, chunk by chunk, as it is written into the store, and says what it found (the
 * MIME index of mailbox/mime). The store keeps the result with the message (JSON) and never looks
 * inside it; main.ts gives the store a factory. It must never throw on any input and never keep the
 * message's bytes.
 */
export interface MessageIndexer {
  write(chunk: Buffer): void;
  /** The index, a plain JSON value. */
  end(): unknown;
}
export type MessageIndexerFactory = () => MessageIndexer;

/**
 * The folders of every user and the messages in them: what the IMAP and POP3 backends (mailbox/) are
 * built on. Each method that changes something is one durable, atomic batch, announced through
 * onChange() once written. Errors a client can act on are LetterboxErrors: NOT_FOUND (no such folder
 * or user), ALREADY_EXISTS, INVALID (a name or an operation that cannot be: deleting INBOX), TOO_LARGE
 * (over quota: `details` says which). Every user has the six default folders (made at the first call
 * that needs them, and by the schema migration).
 */
export interface FolderStore {
  listFolders(user: string): Promise<Folder[]>;
  getFolder(user: string, name: string): Promise<Folder | null>;
  /**
   * Makes an empty folder, and its missing superiors (RFC 3501 6.3.3: `a/b/c` makes `a` and `a/b`).
   * Names are refused with INVALID when empty, with an empty level (`a//b`), a leading or trailing `/`,
   * NUL, CR or LF, a level over 255 bytes of UTF-8, or more than 20 levels.
   */
  createFolder(user: string, name: string, specialUse?: string | null): Promise<Folder>;
  /** Deletes the folder and its messages (not its children: RFC 3501 6.3.4 leaves them). Not INBOX. */
  deleteFolder(user: string, name: string): Promise<void>;
  /**
   * Renames the folder and every folder under it (RFC 3501 6.3.5), keeping their ids and UIDVALIDITY,
   * announced `renamed` for each. Renaming INBOX moves its messages into a new folder of that name (new
   * id, UIDs from 1, flags and dates kept) and leaves INBOX empty with its inferiors where they were,
   * announced as `expunged` on INBOX and `appended` on the new folder.
   */
  renameFolder(user: string, from: string, to: string): Promise<void>;
  setSubscribed(user: string, name: string, subscribed: boolean): Promise<void>;
  /** Every entry of a folder, in UID order. */
  listEntries(folderId: string): Promise<FolderEntry[]>;
  /** The indexes of messages (what the MessageIndexer made), null where a message has none or is gone. */
  messageIndexes(messageIds: readonly string[]): Promise<(unknown | null)[]>;
  /**
   * Small digests a backend made of messages' indexes (the IMAP backend: the rendered ENVELOPE), null
   * where none was saved. A cache kept beside the index, so a client's sync reads a few hundred bytes
   * per message rather than its whole index; deleted with the message. Optional: a store without it
   * makes the backend read the indexes.
   */
  messageSummaries?(messageIds: readonly string[]): Promise<(string | null)[]>;
  /** Saves digests (text, kept as given) for messages still stored; those of messages gone meanwhile are skipped. */
  saveSummaries?(summaries: readonly { messageId: string; summary: string }[]): Promise<void>;
  /** A message's bytes from `start` to `end` (exclusive; default the whole), reading only the chunks that hold them. */
  readMessage(messageId: string, range?: { start: number; end: number }): Readable;
  /**
   * Commits a message being written (see MailStore.createMessage) into one folder, with its flags and
   * internal date (RFC 3501 6.3.11). Refused with TOO_LARGE when it would pass the user's quota.
   */
  append(user: string, folder: string, writer: MessageWriter, options: { flags: string[]; internalDate?: number }): Promise<{ folder: Folder; entry: FolderEntry }>;
  /**
   * Sets the flags of entries, each to the whole list given, with a new MODSEQ for each entry that
   * changed. `unchangedSince` (RFC 7162 3.1.3): entries whose MODSEQ is higher are left alone and listed
   * in `conflicts`. UIDs no longer in the folder are skipped. `origin` is passed on in the change.
   */
  setFlags(folderId: string, changes: readonly { uid: number; flags: string[] }[], options?: { unchangedSince?: number; origin?: unknown }): Promise<{ changed: FolderEntry[]; conflicts: number[] }>;
  /** Removes entries (releasing their messages); returns the UIDs that were there. */
  expunge(folderId: string, uids: readonly number[]): Promise<number[]>;
  /**
   * Copies entries into another folder of the same user, flags and internal date kept, new UIDs in
   * order (RFC 4315 COPYUID); with `move`, removes them from the source in the same batch (RFC 6851).
   * Refused with TOO_LARGE when the copies would pass the quota (a move never does).
   */
  copy(folderId: string, uids: readonly number[], targetFolderId: string, move: boolean): Promise<{ uidValidity: number; pairs: [number, number][] }>;
  /** UIDs expunged with a MODSEQ above `modseq` (RFC 7162 3.2.5.1 VANISHED (EARLIER)); may list more. */
  vanishedSince(folderId: string, modseq: number): Promise<number[]>;
  usage(user: string): Promise<QuotaUsage>;
  /** Called after each durable change; returns the function that stops it. Listeners must not throw. */
  onChange(listener: (change: FolderChange) => void): () => void;
}
