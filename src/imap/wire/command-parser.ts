// The incremental IMAP command parser: bytes in, events out (DESIGN.md principle 4).
//
// How it works. The framer below cuts the client's stream into line segments (up to LF) and literals
// (n octets after a line ending in `{n}`), and hands them to a CommandBuilder, which keeps the grammar
// state of the command between them. It never holds more than the limits: a line is checked against
// `maxLineLength` before its bytes are kept, a literal against `maxLiteralSize` and `maxCommandSize`
// before any of its bytes arrive. Whatever the client sends, push() answers with events and never
// throws; after a bad command the framer throws away the rest of it (its lines and the bytes of any
// non-synchronizing literal in it, RFC 7888 3) and starts again at the next line.
//
// Commands after which the stream changes hands (STARTTLS, AUTHENTICATE, IDLE, COMPRESS) pause the
// parser: what the client sends next is held, unread, until the connection says how to read it.
import { CommandBuilder } from './command-builder.js';
import { keepTail, leadingTag, trailingAnnouncement } from './line-scan.js';
import type { ParseEvent, WireError, WireErrorCode } from './values.js';

const LF = 0x0a;
const CR = 0x0d;

/** RFC 7888 4: under LITERAL-, non-synchronizing literals may carry at most 4096 octets. */
export const LITERAL_MINUS_MAX = 4096;

export interface ParserOptions {
  /** Bytes of one command outside its literals, line ends included. Default 64 KiB (Dovecot's default). */
  readonly maxLineLength?: number;
  /** Octets of one literal. Default 50 MiB (the APPENDLIMIT a connection can then announce). */
  readonly maxLiteralSize?: number;
  /** Everything of one command, literals included. Default maxLiteralSize + maxLineLength. */
  readonly maxCommandSize?: number;
  /** The largest refused non-synchronizing literal read and thrown away; a larger one is fatal. Default maxLiteralSize. */
  readonly maxSkipSize?: number;
  /** Which extension is advertised (RFC 7888): LITERAL+ takes `{n+}` of any allowed size, LITERAL- up to 4096. */
  readonly nonSyncLiterals?: 'literal+' | 'literal-';
  /** Commands after which the parser pauses. Default STARTTLS, AUTHENTICATE, IDLE, COMPRESS. */
  readonly pauseAfter?: readonly string[];
}

type Mode =
  | { readonly kind: 'line' }
  | { readonly kind: 'literal'; remaining: number; readonly sync: boolean }
  | { readonly kind: 'skip'; remaining: number }
  | { readonly kind: 'discard'; readonly then: 'line' | 'paused' }
  | { readonly kind: 'raw-line' }
  | { readonly kind: 'paused' }
  | { readonly kind: 'closed' };

export class CommandParser {
  private readonly maxLineLength: number;
  private readonly maxLiteralSize: number;
  private readonly maxCommandSize: number;
  private readonly maxSkipSize: number;
  private readonly literalMinus: boolean;
  private readonly pauseAfter: ReadonlySet<string>;

  private mode: Mode = { kind: 'line' };
  private builder: CommandBuilder | null = null;
  /** The current line segment, until its LF. */
  private lineParts: Buffer[] = [];
  /** Non-literal bytes of the current command (or raw line), the current segment included. */
  private lineBytes = 0;
  private literalParts: Buffer[] = [];
  private literalBytes = 0;
  /** The end of a line being thrown away, to see whether it announced a literal. */
  private tail: Buffer = Buffer.alloc(0);
  private held: Buffer[] = [];
  private heldBytes = 0;
  private events: ParseEvent[] = [];

  constructor(options: ParserOptions = {}) {
    this.maxLineLength = options.maxLineLength ?? 64 * 1024;
    this.maxLiteralSize = options.maxLiteralSize ?? 50 * 1024 * 1024;
    this.maxCommandSize = options.maxCommandSize ?? this.maxLiteralSize + this.maxLineLength;
    this.maxSkipSize = options.maxSkipSize ?? this.maxLiteralSize;
    this.literalMinus = options.nonSyncLiterals === 'literal-';
    this.pauseAfter = new Set(options.pauseAfter ?? ['STARTTLS', 'AUTHENTICATE', 'IDLE', 'COMPRESS']);
  }

  /**
   * Feeds bytes from the client; returns what they complete, in order. The parser may keep views of
   * `chunk` until the command is complete: do not reuse its memory.
   */
  push(chunk: Buffer): ParseEvent[] {
    if (this.mode.kind === 'paused') return this.run(() => this.hold(chunk, true));
    return this.run(() => this.consume(chunk));
  }

  /** Paused after a command: reads on as commands, starting with the bytes held meanwhile. */
  resume(): ParseEvent[] {
    if (this.mode.kind !== 'paused') return [];
    this.mode = { kind: 'line' };
    return this.run(() => this.consume(this.takeHeld()));
  }

  /**
   * Paused after a command: the next line is raw (a SASL response, RFC 3501 6.2.2; `DONE`, RFC 2177 3).
   * It comes as a `line` event, after which the parser is paused again.
   */
  readLine(): ParseEvent[] {
    if (this.mode.kind !== 'paused') return [];
    this.mode = { kind: 'raw-line' };
    return this.run(() => this.consume(this.takeHeld()));
  }

  /**
   * Paused: takes the bytes held since the pause. After STARTTLS they must be thrown away (RFC 3501
   * 6.2.1: plaintext sent before the handshake is an injection); after COMPRESS they are compressed.
   */
  takeHeld(): Buffer {
    const bytes = Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    return bytes;
  }

  /**
   * After a `continue` event the connection answered the command (`NO`, `BAD`) instead of sending `+`
   * (RFC 3501 7.5): the client will not send the literal, so the command is dropped.
   */
  rejectLiteral(): void {
    if (this.mode.kind !== 'literal' || !this.mode.sync) return;
    this.resetCommand();
    this.mode = { kind: 'line' };
  }

  get paused(): boolean {
    return this.mode.kind === 'paused';
  }

  /** After a fatal error: the connection should say BYE and close; nothing more is read. */
  get closed(): boolean {
    return this.mode.kind === 'closed';
  }

  /** Bytes held in memory now: the limits bound this. */
  get buffered(): number {
    return this.lineParts.reduce((n, b) => n + b.length, 0) + this.literalBytes + this.heldBytes + this.tail.length;
  }

  private run(work: () => void): ParseEvent[] {
    this.events = [];
    try {
      work();
    } catch {
      // A bug, never bad input: the connection cannot trust this stream any more (DESIGN.md principle 7).
      this.resetCommand();
      this.fail('internal', null, 'Internal error reading the command', true);
    }
    return this.events;
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.mode.kind) {
        case 'closed':
          return;
        case 'paused':
          // The rest of the chunk that paused the parser: already in memory, so not held against the cap.
          this.hold(chunk.subarray(pos), false);
          return;
        case 'line':
        case 'raw-line':
          pos = this.readLineBytes(chunk, pos);
          break;
        case 'literal':
          pos = this.readLiteral(chunk, pos, this.mode);
          break;
        case 'skip':
          pos = this.skip(chunk, pos, this.mode);
          break;
        case 'discard':
          pos = this.discard(chunk, pos, this.mode.then);
          break;
      }
    }
  }

  /** Collects a line up to LF without ever keeping more than maxLineLength. */
  private readLineBytes(chunk: Buffer, pos: number): number {
    const lf = chunk.indexOf(LF, pos);
    const end = lf === -1 ? chunk.length : lf + 1;
    if (this.lineBytes + end - pos > this.maxLineLength) {
      this.lineTooLong(chunk.subarray(pos, end));
      return pos; // the discard mode reads the same bytes
    }
    this.lineBytes += end - pos;
    if (lf === -1) {
      this.lineParts.push(Buffer.from(chunk.subarray(pos)));
      return end;
    }
    this.lineParts.push(chunk.subarray(pos, lf));
    let line = Buffer.concat(this.lineParts);
    this.lineParts = [];
    // RFC 3501 2.2: lines end in CRLF; a bare LF is accepted too, as most servers do.
    if (line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (this.mode.kind === 'raw-line') {
      this.lineBytes = 0;
      this.mode = { kind: 'paused' };
      this.emit({ kind: 'line', bytes: line });
    } else {
      this.commandLine(line);
    }
    return end;
  }

  private lineTooLong(next: Buffer): void {
    const start = Buffer.concat([...this.lineParts, next.subarray(0, 256)]);
    const raw = this.mode.kind === 'raw-line';
    const tag = raw ? null : (this.builder?.tag ?? leadingTag(start));
    this.tail = keepTail(Buffer.alloc(0), Buffer.concat(this.lineParts));
    this.resetCommand();
    this.mode = { kind: 'discard', then: raw ? 'paused' : 'line' };
    this.fail('line-too-long', tag, 'Command line too long', false);
  }

  private commandLine(line: Buffer): void {
    if (!this.builder) {
      if (line.length === 0) {
        this.resetCommand(); // empty lines are ignored, as Dovecot does
        return;
      }
      this.builder = new CommandBuilder();
    }
    const result = this.builder.segment(line);
    if (result.status === 'literal') {
      this.announce(result.size, result.nonSync);
    } else if (result.status === 'complete') {
      this.resetCommand();
      this.emit({ kind: 'command', command: result.command });
      if (this.pauseAfter.has(result.command.name)) this.mode = { kind: 'paused' };
    } else {
      const tag = this.builder.tag;
      this.resetCommand();
      const announced = trailingAnnouncement(line);
      this.refuse('syntax', tag, result.message, announced?.nonSync ? announced.size : null);
    }
  }

  /** A literal was announced: refuse it before its bytes arrive, or wait for them. */
  private announce(size: number, nonSync: boolean): void {
    const tag = this.builder?.tag ?? null;
    const command = this.builder?.name ?? '';
    let refusal: [WireErrorCode, string] | null = null;
    if (nonSync && this.literalMinus && size > LITERAL_MINUS_MAX) {
      refusal = ['literal-too-large', `Non-synchronizing literals are limited to ${LITERAL_MINUS_MAX} octets (LITERAL-)`];
    } else if (size > this.maxLiteralSize) {
      refusal = ['literal-too-large', `Literal too large (limit ${this.maxLiteralSize} octets)`];
    } else if (this.lineBytes + this.literalBytes + size > this.maxCommandSize) {
      refusal = ['command-too-large', `Command too large (limit ${this.maxCommandSize} octets)`];
    }
    if (refusal) {
      this.resetCommand();
      // A refused synchronizing literal is never sent (RFC 3501 7.5); a non-synchronizing one is.
      this.refuse(refusal[0], tag, refusal[1], nonSync ? size : null);
      return;
    }
    if (!nonSync) this.emit({ kind: 'continue', tag: tag ?? '', command, size });
    this.mode = { kind: 'literal', remaining: size, sync: !nonSync };
    if (size === 0) this.finishLiteral();
  }

  private readLiteral(chunk: Buffer, pos: number, mode: { remaining: number }): number {
    const take = Math.min(mode.remaining, chunk.length - pos);
    this.literalParts.push(chunk.subarray(pos, pos + take));
    this.literalBytes += take;
    mode.remaining -= take;
    if (mode.remaining === 0) this.finishLiteral();
    return pos + take;
  }

  private finishLiteral(): void {
    const data = Buffer.concat(this.literalParts);
    this.literalParts = [];
    this.mode = { kind: 'line' };
    this.builder?.literal(data);
  }

  private skip(chunk: Buffer, pos: number, mode: { remaining: number }): number {
    const take = Math.min(mode.remaining, chunk.length - pos);
    mode.remaining -= take;
    if (mode.remaining === 0) this.mode = { kind: 'discard', then: 'line' };
    return pos + take;
  }

  /** Throws away the rest of a line; a non-synchronizing literal announced at its end is skipped too. */
  private discard(chunk: Buffer, pos: number, then: 'line' | 'paused'): number {
    const lf = chunk.indexOf(LF, pos);
    if (lf === -1) {
      this.tail = keepTail(this.tail, chunk.subarray(pos));
      return chunk.length;
    }
    const announced = trailingAnnouncement(keepTail(this.tail, chunk.subarray(pos, lf)));
    this.tail = Buffer.alloc(0);
    this.mode = { kind: then };
    if (then === 'line' && announced?.nonSync) this.skipOrClose(announced.size, null);
    return lf + 1;
  }

  /** Answers a bad command and gets past it: at the next line, or after a literal the client will send. */
  private refuse(code: WireErrorCode, tag: string | null, message: string, nonSyncSize: number | null): void {
    if (nonSyncSize !== null && nonSyncSize > this.maxSkipSize) {
      this.fail(code, tag, `${message}; closing the connection`, true);
      return;
    }
    this.fail(code, tag, message, false);
    this.mode = { kind: 'line' };
    if (nonSyncSize !== null) this.skipOrClose(nonSyncSize, tag);
  }

  /** Skips a refused non-synchronizing literal (the command was answered already), or gives up. */
  private skipOrClose(size: number, tag: string | null): void {
    if (size > this.maxSkipSize) {
      this.fail('literal-too-large', tag, 'Literal too large; closing the connection', true);
    } else {
      this.mode = size === 0 ? { kind: 'discard', then: 'line' } : { kind: 'skip', remaining: size };
    }
  }

  /**
   * Holds bytes sent while paused. A client waits for the answer to a pausing command (RFC 3501 6.2.1,
   * 6.2.2; RFC 2177 3), so more than a line arriving meanwhile is abuse, and ends the connection.
   */
  private hold(bytes: Buffer, capped: boolean): void {
    this.held.push(Buffer.from(bytes));
    this.heldBytes += bytes.length;
    if (capped && this.heldBytes > this.maxLineLength) {
      this.takeHeld();
      this.fail('unexpected-data', null, 'Data sent before the server answered', true);
    }
  }

  private fail(code: WireErrorCode, tag: string | null, message: string, fatal: boolean): void {
    const error: WireError = { code, tag, message, fatal };
    if (fatal) this.mode = { kind: 'closed' };
    this.emit({ kind: 'error', error });
  }

  private emit(event: ParseEvent): void {
    this.events.push(event);
  }

  private resetCommand(): void {
    this.builder = null;
    this.lineParts = [];
    this.lineBytes = 0;
    this.literalParts = [];
    this.literalBytes = 0;
  }
}
