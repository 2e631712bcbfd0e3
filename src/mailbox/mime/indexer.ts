// How this works: the message's bytes are read once, line by line, in whatever chunks they come. The
// indexer keeps a stack of the parts that are open (the root, the multiparts and enclosed messages
// around the current position, and the current part). Only the part on top may be in its header; its
// header bytes are copied aside (up to HEADER_CAP) and read when the empty line ends it. Body bytes are
// never kept: of each line only its first PREFIX_CAP bytes are looked at, to see whether it is a
// boundary delimiter (RFC 2046 5.1.1) of an open multipart. Line ends are counted as they pass, so that
// a part's line count and bare-LF count are differences of two counters.
import { readHeaderFields } from './header-fields.js';
import { applyHeader, blankPart, enclosesMessage, isMultipart, MESSAGE_RFC822, TEXT_PLAIN, type DefaultType } from './part-header.js';
import type { MessageIndex, MimePart } from './types.js';

/** Largest header block read per part; the rest of a longer one is skipped and the part says so. */
export const HEADER_CAP = 256 * 1024;
/** Bytes of a line kept to match boundaries: "--", a boundary of up to 70 chars (RFC 2046 5.1.1), slack. */
const PREFIX_CAP = 2 + 200 + 2;
/** Limits against hostile nesting (Dovecot has the same kind): deeper or further parts are not opened. */
export const MAX_DEPTH = 100;
export const MAX_PARTS = 10_000;
const EMPTY = Buffer.alloc(0);

interface OpenPart {
  part: MimePart;
  inHeader: boolean;
  isMessageRoot: boolean;
  /** The header bytes read so far, in a buffer grown by doubling up to HEADER_CAP. */
  header: Buffer;
  headerBytes: number;
  /** Counters at the start of the header and of the body. */
  headerBareLf: number;
  bodyLf: number;
  bodyBareLf: number;
  /** `--boundary` while the multipart's closing delimiter has not been seen. */
  delimiter: Buffer | null;
  /** What this multipart's children default to (RFC 2046 5.1.5 for digest). */
  childDefault: DefaultType;
  /** Set on a message/rfc822 part whose enclosed message ended inside its header (no empty line). */
  enclosedHeaderOnly: boolean;
}

/** Where a part ends: an offset and the line counters there. */
interface EndPoint {
  at: number;
  lf: number;
  bareLf: number;
  /** At a delimiter: the start of its line, after the line break that belongs to it. */
  lineStart?: EndPoint;
}

export class MimeIndexer {
  private offset = 0;
  private lf = 0;
  private bareLf = 0;
  private lastByte = -1;
  private lineStart = 0;
  private lineStartLf = 0;
  private lineStartBareLf = 0;
  /** Length of the line break that ended the previous line: 0 at the start, 1 (LF) or 2 (CRLF). */
  private previousBreak = 0;
  /** True when the previous line was a close delimiter (`--boundary--`) of a nested multipart. */
  private previousClosed = false;
  private readonly prefix = Buffer.alloc(PREFIX_CAP);
  private prefixLength = 0;
  private readonly stack: OpenPart[] = [];
  private readonly root: MimePart;
  private partCount = 1;
  private openDelimiters = 0;
  private truncated = false;
  private limited = false;
  private finished: MessageIndex | null = null;
  /** Highest count of bytes the indexer held at once (header copy and line prefix), for tests and metrics. */
  peakRetainedBytes = 0;

  constructor() {
    this.root = blankPart('', 0, TEXT_PLAIN);
    this.stack.push(this.open(this.root, true, TEXT_PLAIN));
  }

  /** Bytes the indexer holds now besides its small per-part state. */
  retainedBytes(): number {
    const top = this.stack.at(-1);
    return (top?.header.length ?? 0) + PREFIX_CAP;
  }

  /** Feeds the next bytes of the message. Never throws on content; throws only after end(). */
  write(chunk: Uint8Array): void {
    if (this.finished) throw new Error('MimeIndexer: write after end');
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at < bytes.length) {
      const newline = bytes.indexOf(0x0a, at);
      const end = newline < 0 ? bytes.length : newline + 1;
      this.take(bytes.subarray(at, end));
      if (newline >= 0) {
        const crBefore = newline > at ? bytes[newline - 1] === 0x0d : this.lastByte === 0x0d;
        this.lf += 1;
        if (!crBefore) this.bareLf += 1;
        this.offset += end - at;
        this.lastByte = 0x0a;
        this.endLine(crBefore ? 2 : 1);
      } else {
        this.offset += end - at;
        this.lastByte = bytes[end - 1] ?? this.lastByte;
      }
      at = end;
    }
    this.peakRetainedBytes = Math.max(this.peakRetainedBytes, this.retainedBytes());
  }

  /** Ends the message: the last line may lack its line break; every open part ends here. */
  end(): MessageIndex {
    if (this.finished) return this.finished;
    if (this.offset > this.lineStart) this.endLine(0);
    const point = { at: this.offset, lf: this.lf, bareLf: this.bareLf };
    while (this.stack.length > 0) this.close(this.stack.pop() as OpenPart, point);
    this.finished = { size: this.offset, root: this.root, headerTruncated: this.truncated, limitsReached: this.limited };
    return this.finished;
  }

  private open(part: MimePart, isMessageRoot: boolean, childDefault: DefaultType): OpenPart {
    return {
      part, inHeader: true, isMessageRoot, header: EMPTY, headerBytes: 0, headerBareLf: this.bareLf,
      bodyLf: this.lf, bodyBareLf: this.bareLf, delimiter: null, childDefault, enclosedHeaderOnly: false,
    };
  }

  /** Bytes of the current line: its prefix kept for boundary matching, and header bytes copied aside. */
  private take(segment: Buffer): void {
    if (this.openDelimiters > 0 && this.prefixLength < PREFIX_CAP) {
      this.prefixLength += segment.copy(this.prefix, this.prefixLength, 0, PREFIX_CAP - this.prefixLength);
    }
    const top = this.stack.at(-1);
    if (!top?.inHeader) return;
    const room = HEADER_CAP - top.headerBytes;
    if (segment.length > room) {
      top.part.headerTruncated = true;
      this.truncated = true;
    }
    const length = Math.min(room, segment.length);
    if (length <= 0) return;
    if (top.headerBytes + length > top.header.length) {
      const grown = Buffer.allocUnsafe(Math.min(HEADER_CAP, Math.max(1024, 2 * (top.headerBytes + length))));
      top.header.copy(grown, 0, 0, top.headerBytes);
      top.header = grown;
    }
    top.headerBytes += segment.copy(top.header, top.headerBytes, 0, length);
    this.peakRetainedBytes = Math.max(this.peakRetainedBytes, this.retainedBytes());
  }

  /** A line ended (`lineBreak` is 0 for the unterminated last line): boundary, end of header, or body. */
  private endLine(lineBreak: number): void {
    const lineLength = this.offset - this.lineStart;
    const found = this.openDelimiters > 0 ? this.findDelimiter() : null;
    if (found) this.atDelimiter(found.depth, found.closing);
    else {
      const top = this.stack.at(-1);
      if (top?.inHeader && lineBreak > 0 && lineLength === lineBreak) this.endHeader(top);
    }
    this.previousClosed = found?.closing ?? false;
    this.lineStart = this.offset;
    this.lineStartLf = this.lf;
    this.lineStartBareLf = this.bareLf;
    this.previousBreak = lineBreak;
    this.prefixLength = 0;
  }

  /**
   * The open multipart whose `--boundary` starts this line. Like Dovecot, only the start of the line has
   * to match (RFC 2046 5.1.1 allows trailing white space; senders add more), and the longest matching
   * boundary wins, the innermost on a tie, so nested multiparts may reuse or extend a boundary.
   */
  private findDelimiter(): { depth: number; closing: boolean } | null {
    const line = this.prefix.subarray(0, this.prefixLength);
    if (line[0] !== 0x2d || line[1] !== 0x2d) return null;
    let best = -1;
    for (let depth = this.stack.length - 1; depth >= 0; depth -= 1) {
      const delimiter = this.stack[depth]?.delimiter;
      if (!delimiter || delimiter.length > line.length) continue;
      if (best >= 0 && (this.stack[best]?.delimiter?.length ?? 0) >= delimiter.length) continue;
      if (line.subarray(0, delimiter.length).equals(delimiter)) best = depth;
    }
    if (best < 0) return null;
    const length = this.stack[best]?.delimiter?.length ?? 0;
    return { depth: best, closing: line[length] === 0x2d && line[length + 1] === 0x2d };
  }

  /** RFC 2046 5.1.1: parts inside the multipart end before this delimiter's line break; one may begin. */
  private atDelimiter(depth: number, closing: boolean): void {
    // Right after an inner multipart's close delimiter, that line keeps its line break and this
    // delimiter starts at the line (Dovecot does the same: `--inner--` CRLF `--outer` leaves the
    // CRLF inside the inner multipart, which changes the sizes of the parts that hold it).
    const crlf = this.previousClosed ? 0 : this.previousBreak;
    const lineStart = { at: this.lineStart, lf: this.lineStartLf, bareLf: this.lineStartBareLf };
    const point = { at: this.lineStart - crlf, lf: this.lineStartLf - (crlf > 0 ? 1 : 0), bareLf: this.lineStartBareLf - (crlf === 1 ? 1 : 0), lineStart };
    while (this.stack.length - 1 > depth) this.close(this.stack.pop() as OpenPart, point);
    const multipart = this.stack[depth];
    if (!multipart) return;
    if (closing || this.partCount >= MAX_PARTS) {
      if (!closing) this.limited = true;
      multipart.delimiter = null; // RFC 2046 5.1.1 epilogue: the rest is the multipart's own body
      this.openDelimiters -= 1;
      return;
    }
    const index = multipart.part.children.length + 1;
    const section = multipart.part.section ? `${multipart.part.section}.${index}` : String(index);
    const child = blankPart(section, this.offset, multipart.childDefault);
    multipart.part.children.push(child);
    this.partCount += 1;
    this.stack.push(this.open(child, false, TEXT_PLAIN));
  }

  /** The empty line ended `top`'s header: read it, then open what its body holds. */
  private endHeader(top: OpenPart): void {
    const part = top.part;
    part.header.length = this.offset - part.header.start;
    part.headerBareLf = this.bareLf - top.headerBareLf;
    this.readHeader(top);
    part.body.start = this.offset;
    top.bodyLf = this.lf;
    top.bodyBareLf = this.bareLf;
    const roomForMore = this.stack.length < MAX_DEPTH && this.partCount < MAX_PARTS;
    if (isMultipart(part) && part.boundary === null) {
      // A multipart without a boundary cannot be split: like Dovecot, it holds one empty text/plain part
      // (RFC 3501's grammar needs 1*body), and its whole body stays its own preamble.
      const section = part.section ? `${part.section}.1` : '1';
      part.children.push(blankPart(section, this.offset, TEXT_PLAIN));
      this.partCount += 1;
    } else if (part.boundary !== null && roomForMore) {
      top.delimiter = Buffer.from(`--${part.boundary}`, 'utf8');
      top.childDefault = part.subtype.toLowerCase() === 'digest' ? MESSAGE_RFC822 : TEXT_PLAIN;
      this.openDelimiters += 1;
    } else if (enclosesMessage(part) && roomForMore) {
      // RFC 3501 6.4.5: a message/rfc822 that is itself a message's whole body is that message's part 1.
      const section = top.isMessageRoot ? (part.section ? `${part.section}.1` : '1') : part.section;
      const message = blankPart(section, this.offset, TEXT_PLAIN);
      part.message = message;
      this.partCount += 1;
      this.stack.push(this.open(message, true, TEXT_PLAIN));
    } else if (part.boundary !== null || enclosesMessage(part)) {
      this.limited = true;
    }
  }

  private readHeader(top: OpenPart): void {
    const block = top.header.subarray(0, top.headerBytes);
    top.header = EMPTY;
    top.headerBytes = 0;
    top.inHeader = false;
    applyHeader(top.part, readHeaderFields(block), top.isMessageRoot);
  }

  /** Ends a part at `point`, clamped so that an empty body or header never runs backwards. */
  private close(open: OpenPart, point: EndPoint): void {
    const part = open.part;
    if (open.delimiter) this.openDelimiters -= 1;
    if (open.inHeader) {
      // No empty line: the header runs to the end and the body is empty (and still counted in a part).
      this.endHeaderAt(open, point);
      this.readHeader(open);
      const holder = this.stack.at(-1);
      if (open.isMessageRoot && holder?.part.message === part) holder.enclosedHeaderOnly = true;
      return;
    }
    if (point.at < part.body.start) {
      // RFC 2046 5.1.1: the empty line that ended the header was the delimiter's CRLF; the header ends
      // before it and the body is empty (Dovecot does the same).
      this.endHeaderAt(open, point);
      return;
    }
    // Dovecot counts the delimiter's line break into a message/rfc822 part whose enclosed message is
    // all header (a base64 body read as a message is one): its size and lines include it.
    const end = open.enclosedHeaderOnly && point.lineStart ? point.lineStart : point;
    if (end.at > part.body.start) {
      part.body.length = end.at - part.body.start;
      part.bodyLines = end.lf - open.bodyLf;
      part.bodyBareLf = end.bareLf - open.bodyBareLf;
    }
  }

  /** The header of `open` ends at `point` (clamped to its start); its body is empty and follows it. */
  private endHeaderAt(open: OpenPart, point: EndPoint): void {
    const part = open.part;
    part.header.length = Math.max(0, point.at - part.header.start);
    part.headerBareLf = point.at > part.header.start ? Math.max(0, point.bareLf - open.headerBareLf) : 0;
    part.body = { start: part.header.start + part.header.length, length: 0 };
    part.bodyLines = 0;
    part.bodyBareLf = 0;
    // What the body was to hold (an enclosed message, a boundary-less multipart's part) is empty there too.
    for (const inner of [...(part.message ? [part.message] : []), ...part.children]) emptyAt(inner, part.body.start);
  }
}

/** Makes `part` (and what it holds) an empty part at `at`. */
function emptyAt(part: MimePart, at: number): void {
  part.header = { start: at, length: 0 };
  part.body = { start: at, length: 0 };
  part.headerBareLf = 0;
  part.bodyBareLf = 0;
  part.bodyLines = 0;
  for (const inner of [...(part.message ? [part.message] : []), ...part.children]) emptyAt(inner, at);
}

/** Indexes a message given as a stream of chunks (a LevelDB chunk reader, a socket, a file stream). */
export async function indexMessage(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<MessageIndex> {
  const indexer = new MimeIndexer();
  for await (const chunk of chunks) indexer.write(chunk);
  return indexer.end();
}

/** Indexes a message held whole (tests, small messages). */
export function indexBuffer(message: Uint8Array): MessageIndex {
  const indexer = new MimeIndexer();
  indexer.write(message);
  return indexer.end();
}
