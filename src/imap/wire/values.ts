// The shapes the IMAP command parser hands to the connection: commands as a typed tree of the data
// formats of RFC 3501 section 4 (atom, number, string, parenthesised list, NIL), plus sequence sets,
// and the events and errors of the incremental parser. Nothing here touches a socket or a store.
import type { SequenceSet } from './sequence-set.js';

/**
 * A bare token (RFC 3501 4.1). `text` is the token exactly as sent, so a handler that expects an
 * astring (a mailbox named `007` or `NIL`, a LIST pattern `*`) can take it back whatever it was
 * classified as.
 */
export interface AtomValue {
  readonly kind: 'atom';
  readonly text: string;
  /** `BODY[...]`, `BODY.PEEK[...]`, `BINARY[...]` (RFC 3501 6.4.5, RFC 3516 4.2): the section's items. */
  readonly section?: readonly ImapValue[];
  /** `<offset.length>` after a section (RFC 3501 6.4.5, "BODY[<section>]<<partial>>"). */
  readonly partial?: { readonly offset: number; readonly length: number };
}

/** RFC 3501 4.2: digits only, and small enough to be exact in a JS number (larger ones stay atoms). */
export interface NumberValue {
  readonly kind: 'number';
  readonly text: string;
  readonly value: number;
}

/** A token that reads as a sequence set (RFC 3501 9 "sequence-set", RFC 5182 `$`) and not as a number. */
export interface SequenceValue {
  readonly kind: 'sequence';
  readonly text: string;
  readonly set: SequenceSet;
}

/** RFC 3501 4.5. `text` keeps the client's spelling (`nil`, `Nil`) for astring positions. */
export interface NilValue {
  readonly kind: 'nil';
  readonly text: string;
}

/**
 * A quoted string or a literal (RFC 3501 4.3), always as bytes: literals carry 8-bit data (APPEND) and
 * quoted strings may carry UTF-8 (RFC 9051 4.3, RFC 6855). `literal8` is `~{n}` (RFC 3516 formal syntax).
 */
export interface StringValue {
  readonly kind: 'string';
  readonly value: Buffer;
  readonly form: 'quoted' | 'literal' | 'literal8';
}

/** RFC 3501 4.4. */
export interface ListValue {
  readonly kind: 'list';
  readonly items: readonly ImapValue[];
}

export type ImapValue = AtomValue | NumberValue | SequenceValue | NilValue | StringValue | ListValue;

/** One complete command. `name` is upper case; `UID FETCH` and the like are joined into one name. */
export interface ImapCommand {
  readonly tag: string;
  readonly name: string;
  readonly args: readonly ImapValue[];
}

/**
 * What went wrong, for the connection to answer: `tag` (when one was read) for a tagged `BAD`, else an
 * untagged `* BAD`; `fatal` means the parser has stopped and the connection should send `BYE` and close.
 * `message` is safe to show a client.
 */
export type WireErrorCode =
  | 'syntax'
  | 'line-too-long'
  | 'literal-too-large'
  | 'command-too-large'
  | 'unexpected-data'
  | 'internal';

export interface WireError {
  readonly code: WireErrorCode;
  readonly tag: string | null;
  readonly message: string;
  readonly fatal: boolean;
}

/**
 * - `command`: a complete command.
 * - `continue`: a synchronizing literal `{n}` was announced and accepted; the connection must send a
 *   continuation request (`+ Ready for literal data`, RFC 3501 7.5) or call `rejectLiteral()` after
 *   answering the command with `NO`/`BAD` instead.
 * - `line`: a raw line asked for with `readLine()` (an AUTHENTICATE response, RFC 3501 6.2.2, or the
 *   `DONE` ending IDLE, RFC 2177), without its CRLF.
 * - `error`: see WireError.
 */
export type ParseEvent =
  | { readonly kind: 'command'; readonly command: ImapCommand }
  | { readonly kind: 'continue'; readonly tag: string; readonly command: string; readonly size: number }
  | { readonly kind: 'line'; readonly bytes: Buffer }
  | { readonly kind: 'error'; readonly error: WireError };
