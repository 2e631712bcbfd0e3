// What the server adds to a message on its way in: the Received trace header (RFC 5321 4.4) and, for
// submission, Message-ID and Date when the client left them out (RFC 6409 8.2, 8.3). The rest of the
// message passes through byte for byte; the header block is held only until its end is seen.
import { Transform, type TransformCallback } from 'node:stream';
import { BlankLineFinder, headerNames } from '../core/rfc5322.js';

/**
 * Header blocks longer than this are not edited: we add nothing and pass the bytes on. The decision
 * depends only on where the blank line is, never on how the bytes happened to be split into chunks.
 */
const MAX_HEADER_SCAN = 256 * 1024;

export interface HeaderEdits {
  /** Prepended, in this order, before the message's first byte. */
  prepend: string[];
  /** Added at the end of the header block unless a header of that name is already present. */
  addIfMissing: { name: string; value: () => string }[];
  /** Find and keep the header block (headerBlock) even when nothing is to be added. */
  examine?: boolean;
}

export class HeaderEditor extends Transform {
  /**
   * The client's header block as it came (latin1), once its end was found; undefined before that, or
   * when it was not looked at (nothing to add) or was longer than MAX_HEADER_SCAN.
   */
  headerBlock: string | undefined;
  private scanning: boolean;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly finder = new BlankLineFinder();

  constructor(private readonly edits: HeaderEdits) {
    super();
    this.scanning = edits.addIfMissing.length > 0 || edits.examine === true;
    if (edits.prepend.length > 0) this.push(Buffer.from(edits.prepend.join('')));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.scanning) return done(null, chunk);
    const end = this.finder.scan(chunk, this.heldBytes);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (end >= 0 && end <= MAX_HEADER_SCAN) this.release(end);
    // Past this point a blank line within the limit would have been seen (it ends at most 2 bytes on).
    else if (end >= 0 || this.heldBytes >= MAX_HEADER_SCAN + 2) this.passThrough();
    done();
  }

  override _flush(done: TransformCallback): void {
    // A message that is all header (no blank line): the block ends with the data.
    if (this.scanning && this.heldBytes <= MAX_HEADER_SCAN) this.release(this.heldBytes);
    else if (this.scanning) this.passThrough();
    done();
  }

  private passThrough(): void {
    this.scanning = false;
    for (const chunk of this.held) this.push(chunk);
    this.held = [];
  }

  /** Emits the header block up to `end`, the missing headers, then the rest. */
  private release(end: number): void {
    this.scanning = false;
    const buffer = Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    const block = buffer.subarray(0, end);
    this.headerBlock = block.toString('latin1');
    const present = headerNames(this.headerBlock);
    let added = this.edits.addIfMissing
      .filter((h) => !present.has(h.name.toLowerCase()))
      .map((h) => `${h.name}: ${h.value()}\r\n`)
      .join('');
    // Only an all-header message can end mid-line; its last line must be ended before ours start.
    if (added && end > 0 && block[end - 1] !== 0x0a) added = (block[end - 1] === 0x0d ? '\n' : '\r\n') + added;
    this.push(block);
    if (added) this.push(Buffer.from(added));
    if (end < buffer.length) this.push(buffer.subarray(end));
  }
}
