// What the IMAP server needs of its backend, grouped by protocol state as go-imap v2's imapserver does
// (DESIGN.md principle 2): ImapBackend before login, ImapAccount once authenticated, SelectedFolder
// while a folder is selected, MessageView for one message. The server (this folder) knows nothing of
// the store; mailbox/ implements these on it. Sequence numbers, \Recent as a session sees it, and when
// a change may be told to a client are the server's business: the backend speaks in UIDs only.

/** A tree of strings, numbers and NILs, as ENVELOPE and BODYSTRUCTURE are written (RFC 3501 7.4.2). */
export type StructureValue = string | number | null | StructureValue[];

/** Where a client connects from, for the backend's login guard and logs. */
export interface ImapClient {
  remoteAddress: string;
  /** TLS on the connection (993, or after STARTTLS). */
  secure: boolean;
}

/**
 * A failure the client is told about, with its RFC 5530 response code (`NONEXISTENT`, `ALREADYEXISTS`,
 * `OVERQUOTA`, `CANNOT`, `TRYCREATE`, `AUTHENTICATIONFAILED`, `UNAVAILABLE`, `LIMIT` ...) and a text
 * safe to show. Anything else a backend throws is a bug or a fault: the server logs it and answers
 * `NO [SERVERBUG]` (temporary, DESIGN.md principle 7).
 */
export class ImapBackendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImapBackendError';
  }
}

/** Not authenticated. */
export interface ImapBackend {
  /**
   * Checks a user name and password (LOGIN, AUTHENTICATE PLAIN). The backend applies the login guard
   * shared with SMTP: a refusal or a wrong password throws ImapBackendError with
   * `AUTHENTICATIONFAILED` (wrong) or `UNAVAILABLE` (refused for now); a wrong password may take a while.
   */
  login(username: string, password: string, client: ImapClient): Promise<ImapAccount>;
}

/** One folder as LIST shows it. */
export interface FolderListing {
  /** Full name with `/` between levels, UTF-8 (the server encodes it in modified UTF-7). */
  name: string;
  /** RFC 6154 attribute (`\Sent` ...) or null. */
  specialUse: string | null;
  subscribed: boolean;
}

/** STATUS items (RFC 3501 6.3.10, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE). */
export interface FolderStatus {
  messages: number;
  /** Messages no session has seen as \Recent yet. */
  recent: number;
  uidNext: number;
  uidValidity: number;
  unseen: number;
  highestModseq: number;
  size: number;
}

/** Authenticated. One per session; the session calls close() at LOGOUT or when the connection ends. */
export interface ImapAccount {
  /** The canonical address the session is logged in as. */
  readonly user: string;
  /** Every folder of the user (the server filters by pattern and works out \HasChildren). */
  listFolders(): Promise<FolderListing[]>;
  createFolder(name: string, specialUse?: string | null): Promise<void>;
  deleteFolder(name: string): Promise<void>;
  renameFolder(from: string, to: string): Promise<void>;
  subscribe(name: string, subscribed: boolean): Promise<void>;
  status(name: string): Promise<FolderStatus>;
  /**
   * RFC 3501 6.3.11; RFC 4315 APPENDUID is made of the answer. `OVERQUOTA`, `TRYCREATE` as errors.
   * `binary`: sent as a literal8 (RFC 3516 4.4): stored byte for byte, bare LFs and all.
   */
  append(name: string, message: Buffer, flags: string[], internalDate: Date | null, options?: { binary?: boolean }): Promise<{ uidValidity: number; uid: number }>;
  /** RFC 9208: the user's one quota root (named ""). `limit` 0 means none. */
  quota(): Promise<{ usedBytes: number; limitBytes: number; messages: number }>;
  /** The largest message APPEND takes (RFC 7889 APPENDLIMIT); 0 for none. */
  readonly appendLimit: number;
  /** SELECT (read-write) or EXAMINE (read-only). Throws NONEXISTENT for a folder that is not there. */
  select(name: string, options: { readOnly: boolean }): Promise<SelectedFolder>;
  close(): void;
}

/** A message as the selected folder lists it. */
export interface FolderMessageState {
  uid: number;
  /** Never `\Recent` (the server adds it for the messages it was told are recent). */
  flags: string[];
  modseq: number;
}

/**
 * A change in the selected folder, made by anyone (this session included), in the order they were
 * made. The server queues them and tells the client when RFC 3501 7 allows.
 */
export type SelectedChange =
  /** New messages, UIDs above every earlier one; `recent` when this session is the one to see them as \Recent. */
  | { kind: 'appended'; messages: FolderMessageState[]; recent: boolean }
  /** `own`: the change came from this SelectedFolder's own store() (for STORE .SILENT, RFC 3501 6.4.6). */
  | { kind: 'flags'; messages: FolderMessageState[]; own: boolean }
  | { kind: 'expunged'; uids: number[] }
  /** The folder was deleted (or INBOX renamed away): the server sends BYE or deselects. */
  | { kind: 'gone' };

/** What FETCH will ask of the messages, so the backend loads only that. */
export interface FetchNeeds {
  /** ENVELOPE, BODY, BODYSTRUCTURE, sections, BINARY: the message's index. */
  index: boolean;
  /** Sections or BINARY: the message's bytes. */
  content: boolean;
  /**
   * Of what the index gives, only envelope() (and sentDate()) will be called: the backend may answer
   * from its cache of rendered envelopes without loading indexes, which makes the common
   * `UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE)` of a client's sync cheap. Optional; false when absent.
   */
  envelopeOnly?: boolean;
}

/**
 * The snapshot of a selected folder column by column: entry i of each array is the i-th message in UID
 * order, the same messages as SelectedFolder.messages without an object per message (SELECT of 10,000
 * messages reads this). Flag lists may be shared between messages and must not be changed.
 */
export interface FolderColumns {
  readonly uids: readonly number[];
  readonly modseqs: readonly number[];
  readonly flags: readonly (readonly string[])[];
}

/** Selected. The view of one folder in one session; close() at CLOSE, UNSELECT, another SELECT, LOGOUT. */
export interface SelectedFolder {
  readonly name: string;
  readonly readOnly: boolean;
  readonly uidValidity: number;
  /** The folder as it stood when selected: its messages in UID order. */
  readonly messages: readonly FolderMessageState[];
  /**
   * The same snapshot as `messages`, as columns; optional (the server builds them from `messages` when
   * absent). A backend that gives it should make `messages` only when asked.
   */
  readonly columns?: FolderColumns;
  readonly uidNext: number;
  readonly highestModseq: number;
  /** UIDs among `messages` this session is the first to see (RFC 3501 2.3.2 \Recent). */
  readonly recent: readonly number[];
  /** Keywords in use in the folder, for FLAGS and PERMANENTFLAGS (RFC 3501 7.2.6). */
  readonly keywords: readonly string[];
  /** Every change after the snapshot above, this session's own included. */
  onChange(listener: (change: SelectedChange) => void): void;
  /** The messages with these UIDs still in the folder, in UID order. */
  fetch(uids: readonly number[], needs: FetchNeeds): AsyncIterable<MessageView>;
  /**
   * Changes flags; each resulting change comes back through onChange (with `own`). `unchangedSince`:
   * UIDs whose MODSEQ is higher are left alone and returned (RFC 7162 3.1.3 MODIFIED).
   */
  store(uids: readonly number[], mode: 'set' | 'add' | 'remove', flags: readonly string[], unchangedSince?: number): Promise<{ modified: number[] }>;
  /** Removes these messages if flagged \Deleted (all such in the folder when `uids` is absent); returns the UIDs removed. */
  expunge(uids?: readonly number[]): Promise<number[]>;
  /** COPY / MOVE into another folder of the user; `TRYCREATE` when it is not there, `OVERQUOTA`. */
  copy(uids: readonly number[], target: string, move: boolean): Promise<{ uidValidity: number; pairs: [number, number][] }>;
  /** RFC 7162 3.2.5.1: UIDs expunged since `modseq` (may list more). */
  vanishedSince(modseq: number): Promise<number[]>;
  close(): void;
}

/**
 * An IMAP section (RFC 3501 6.4.5): `path` the part numbers (empty for the message itself), then what
 * of it. `HEADER`, `HEADER.FIELDS`, `HEADER.FIELDS.NOT` and `TEXT` apply to the message (path empty) or
 * to a message/rfc822 part; `MIME` to a part (path not empty).
 */
export interface SectionSpec {
  path: number[];
  text?: 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  /** Field names for HEADER.FIELDS(.NOT), as the client sent them. */
  fields?: string[];
}

/** One message, for FETCH and SEARCH. */
export interface MessageView {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: number;
  readonly internalDate: Date;
  /** RFC822.SIZE: octets as stored. */
  readonly size: number;
  /**
   * The stored message's id, unique in the backend and never reused, when it has one: what never
   * changes for it (its encoded ENVELOPE) may be kept by the server under this id.
   */
  readonly messageId?: string;
  /** RFC 3501 7.4.2 ENVELOPE. */
  envelope(): StructureValue;
  /** BODY (`extended` false) or BODYSTRUCTURE (`extended` true). */
  bodyStructure(extended: boolean): StructureValue;
  /** The section's bytes (RFC 3501 6.4.5), empty when the part does not exist; only its chunks are read. */
  section(spec: SectionSpec): Promise<Buffer>;
  /** RFC 3516: the part's content with its Content-Transfer-Encoding undone; `UNKNOWN-CTE` error when it cannot be. */
  binary(path: number[]): Promise<Buffer>;
  /** RFC 3516 BINARY.SIZE: the length binary() would give. */
  binarySize(path: number[]): Promise<number>;
  /** SEARCH: the values of a header field in the top-level header, unfolded, RFC 2047 words decoded. */
  headerValues(name: string): Promise<string[]>;
  /** SEARCH SENTON/SENTBEFORE/SENTSINCE: the Date header's date, null when absent or unreadable. */
  sentDate(): Date | null;
  /** SEARCH BODY (`body`) and TEXT (`text`: header and body): decoded text to match against. */
  searchText(scope: 'body' | 'text'): Promise<string>;
}
