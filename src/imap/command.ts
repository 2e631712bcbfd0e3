// The contract between the connection and the command files (one file per command under commands/,
// WildDuck's imap-core shape): each command declares its name, the states it is allowed in (RFC 3501
// 3) and its handler. The connection parses, checks the state, runs the handler with a CommandContext,
// and answers BAD for a command it does not know or one in the wrong state (as Dovecot does). The
// tagged answer a handler gives is written when it returns, after the selected folder's updates.
import type { ImapAccount, ImapBackend, ImapClient, SelectedFolder } from './backend.js';
import type { SequenceSet } from './wire/sequence-set.js';
import type { ImapCommand } from './wire/values.js';
import type { ResponseValue } from './wire/encoder.js';

/** RFC 3501 3: the states of a connection. */
export type SessionState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

/** The limits and choices of the `imap` config section that commands need. */
export interface ImapLimits {
  /** Largest APPEND literal, bytes (RFC 7889 APPENDLIMIT when the account gives none). */
  readonly maxMessageSize: number;
}

/**
 * The selected folder as this session's client knows it: the sequence numbers it was told, the flags
 * it last saw, the changes not yet told (RFC 3501 5.2, 7.4.1). Implemented by selected.ts.
 */
export interface SelectedSession {
  readonly folder: SelectedFolder;
  readonly readOnly: boolean;
  /** Messages the client knows of (the EXISTS it was last told). */
  readonly exists: number;
  /** UID of sequence number `seq` (1-based) as the client knows it. */
  uidOf(seq: number): number | undefined;
  /** Sequence number of `uid` as the client knows it. */
  seqOf(uid: number): number | undefined;
  /** Flags the client should see now, `\Recent` included where it applies. */
  flagsOf(uid: number): readonly string[];
  modseqOf(uid: number): number;
  /** The highest MODSEQ the session has applied (for HIGHESTMODSEQ codes and FETCH (MODSEQ)). */
  readonly highestModseq: number;
  /**
   * The UIDs a set names, in ascending order, among the messages the client knows: sequence numbers
   * (`byUid` false, `*` the last) or UIDs (`*` the highest UID; RFC 3501 6.4.8: a range is read
   * whatever its order, and UIDs not there are ignored).
   */
  resolve(set: SequenceSet, byUid: boolean): number[];
  /**
   * Tells the client what changed since it was last told: EXISTS and RECENT, FETCH (FLAGS) of changed
   * messages (with UID when `uid`, MODSEQ under CONDSTORE), and, when `expunges`, EXPUNGE (VANISHED
   * under QRESYNC). RFC 3501 7.4.1: no EXPUNGE during FETCH, STORE or SEARCH (their UID forms may).
   * `silentOwn`: this session's own flag changes are not echoed (STORE .SILENT).
   */
  flush(ctx: CommandContext, options: { expunges: boolean; uid?: boolean; silentOwn?: boolean }): Promise<void>;
}

/** What a connection holds that commands read and change. */
export interface Session {
  state: SessionState;
  readonly client: ImapClient;
  account: ImapAccount | null;
  selected: SelectedSession | null;
  /** Extensions turned on: `CONDSTORE` (by ENABLE or by first use, RFC 7162 3.1), `QRESYNC`, `UTF8=ACCEPT`. */
  readonly enabled: Set<string>;
  readonly limits: ImapLimits;
  /** The CAPABILITY list for the connection as it stands now (TLS, login state). */
  capabilities(): string[];
  /** Makes `folder` the selected one (closing any other) and moves to the selected state. */
  select(folder: SelectedFolder): SelectedSession;
  /** Closes the selected folder, back to the authenticated state. */
  deselect(): void;
}

export interface CommandContext {
  readonly tag: string;
  readonly command: ImapCommand;
  readonly session: Session;
  /** `* ` followed by the values. */
  untagged(values: readonly ResponseValue[]): void;
  /**
   * An untagged status response (RFC 3501 7.1): `* OK [UNSEEN 3] text`, `* OK [CLOSED]` (RFC 7162
   * 3.2.11), `* NO [OVERQUOTA] ...` (RFC 9208 4.3.1): the values of untagged() cannot carry a
   * bracketed code followed by free text.
   */
  untaggedStatus(status: 'OK' | 'NO' | 'BAD', text: string, code?: string): void;
  /** The tagged completion. `code` is the response code without brackets (`READ-WRITE`, `APPENDUID 1 2`). */
  ok(text: string, code?: string): void;
  no(text: string, code?: string): void;
  bad(text: string, code?: string): void;
  /**
   * Resolves once the output written so far has mostly reached the socket (backpressure): a handler
   * writing many responses (FETCH 1:*) awaits it now and then so a slow reader does not grow memory.
   * Optional so test fakes need not have it.
   */
  drained?(): Promise<void>;
  // FETCH's fast path, optional like drained(): a message's ENVELOPE is encoded once and its bytes kept.
  /** `values` as untagged() would encode them, SP between them. */
  encode?(values: readonly ResponseValue[]): Buffer;
  /**
   * The bytes `make()` gives (made with encode()), kept by the server under `key` and the connection's
   * encoding (UTF8=ACCEPT changes it): only for what never changes under that key.
   */
  keepEncoded?(key: string, make: () => Buffer): Buffer;
  /** `* ` followed by the already encoded parts, then CRLF. */
  untaggedBytes?(parts: readonly Buffer[]): void;
}

/**
 * What the connection-level commands (LOGIN, AUTHENTICATE, STARTTLS, COMPRESS, IDLE, LOGOUT) need of
 * the connection beyond CommandContext. Every context the connection makes is a ConnectionContext.
 */
export interface ConnectionControl {
  /** The backend for LOGIN and AUTHENTICATE. */
  readonly backend: ImapBackend;
  /** RFC 3501 7.5: `+ text`. */
  continuation(text: string): void;
  /** The next raw line from the client (an AUTHENTICATE response, IDLE's DONE); null once it has gone. */
  readLine(): Promise<Buffer | null>;
  /** STARTTLS: once the tagged OK is written, throws away what the client sent meanwhile and starts TLS. */
  startTls(): void;
  /** COMPRESS DEFLATE (RFC 4978): once the tagged OK is written, both directions are compressed. */
  startCompression(): void;
  readonly compressed: boolean;
  /** LOGIN and AUTHENTICATE: false before TLS unless the client is local (LOGINDISABLED). */
  readonly loginAllowed: boolean;
  /** Takes a session slot for `account`; false when the user has too many (imap.maxSessionsPerUser). */
  admit(account: ImapAccount): boolean;
  /** A LOGIN or AUTHENTICATE failed: past imap.loginFailuresPerConnection the connection is closed. */
  loginFailed(): void;
  /** Sends `* BYE text` now and ends the connection once the current command is answered (LOGOUT). */
  bye(text: string): void;
  /** Calls `wake` when changes arrive for the selected folder (IDLE); returns the function that stops it. */
  watchChanges(wake: () => void): () => void;
}

export interface ConnectionContext extends CommandContext {
  readonly connection: ConnectionControl;
}

/** A command that needs the connection itself (the registry takes both kinds). */
export interface ConnectionCommandSpec {
  readonly name: string;
  readonly states: readonly SessionState[];
  run(ctx: ConnectionContext): Promise<void>;
}

export interface CommandSpec {
  /** Upper case; UID forms are their own specs (`UID FETCH`). */
  readonly name: string;
  readonly states: readonly SessionState[];
  /**
   * Must end with exactly one of ok/no/bad. An ImapBackendError it throws is answered NO [code]; any
   * other throw is logged and answered NO [SERVERBUG].
   */
  run(ctx: CommandContext): Promise<void>;
}
