// What the server adds to a message on its way in: the Received trace header (RFC 5321 4.4) and, for
// submission, Message-ID and Date when the client left them out (RFC 6409 8.2, 8.3). The rest of the
// message passes through byte for byte; the header block is held only until its end is seen.
import { Transform, type TransformCallback } from 'node:stream';

/** Headers longer than this are not scanned: we add nothing and pass the bytes on. */
const MAX_HEADER_SCAN = 256 * 1024;

export interface HeaderEdits {
  /** Prepended, in this order, before the message's first byte. */
  prepend: string[];
  /** Added at the end of the header block unless a header of that name is already present. */
  addIfMissing: { name: string; value: () => string }[];
}

export class HeaderEditor extends Transform {
  private scanning: boolean;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly edits: HeaderEdits) {
    super();
    this.scanning = edits.addIfMissing.length > 0;
    if (edits.prepend.length > 0) this.push(Buffer.from(edits.prepend.join('')));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.scanning) return done(null, chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    const buffer = Buffer.concat(this.held, this.heldBytes);
    const end = headerEnd(buffer);
    if (end >= 0) {
      this.release(buffer, end);
    } else if (this.heldBytes > MAX_HEADER_SCAN) {
      this.scanning = false;
      this.push(buffer);
    } else {
      this.held = [buffer];
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.scanning) {
      // A message that is all header (no blank line): the block ends with the data.
      let buffer = Buffer.concat(this.held, this.heldBytes);
      if (buffer.length > 0 && buffer[buffer.length - 1] !== 0x0a) buffer = Buffer.concat([buffer, Buffer.from('\r\n')]);
      this.release(buffer, buffer.length);
    }
    done();
  }

  /** Emits the header block up to `end`, the missing headers, then the rest. */
  private release(buffer: Buffer, end: number): void {
    this.scanning = false;
    this.held = [];
    const present = headerNames(buffer.subarray(0, end).toString('latin1'));
    const added = this.edits.addIfMissing
      .filter((h) => !present.has(h.name.toLowerCase()))
      .map((h) => `${h.name}: ${h.value()}\r\n`)
      .join('');
    this.push(buffer.subarray(0, end));
    if (added) this.push(Buffer.from(added));
    if (end < buffer.length) this.push(buffer.subarray(end));
  }
}

/** Offset just past the last header line's line break (where the empty line starts), or -1. */
function headerEnd(buffer: Buffer): number {
  if (buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) return 0;
  if (buffer.length >= 1 && buffer[0] === 0x0a) return 0;
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  if (lf >= 0) return lf + 1;
  return -1;
}

function headerNames(block: string): Set<string> {
  const names = new Set<string>();
  for (const line of block.split(/\r?\n/)) {
    const match = /^([!-9;-~]+):/.exec(line);
    if (match?.[1]) names.add(match[1].toLowerCase());
  }
  return names;
}

/** RFC 5322 3.3 date-time, in the server's local offset. */
export function rfc5322Date(date = new Date()): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
  return `${days[date.getDay()]}, ${date.getDate()} ${months[date.getMonth()]} ${date.getFullYear()} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone}`;
}
