// The contract between the connection and the command files (one file per command under commands/,
// WildDuck's imap-core shape): each command declares its name, the states it is allowed in (RFC 3501
// 3) and its handler. The connection parses, checks the state, runs the handler with a CommandContext,
// and answers BAD for a command it does not know or NO/BAD for one in the wrong state.
import type { ImapAccount, ImapClient, SelectedFolder } from './backend.js';
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
  /** The tagged completion. `code` is the response code without brackets (`READ-WRITE`, `APPENDUID 1 2`). */
  ok(text: string, code?: string): void;
  no(text: string, code?: string): void;
  bad(text: string, code?: string): void;
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
