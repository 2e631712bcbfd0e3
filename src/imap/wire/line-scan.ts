// Small readings of raw line bytes that the framer needs when it cannot (or need not) run the grammar:
// for a line it is throwing away, whether the client announced a literal at its end and what its tag was.

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;

/** The longest literal announcement worth recognising: `~{` + 16 digits + `+}`. */
export const ANNOUNCEMENT_TAIL = 24;

export interface Announcement {
  readonly size: number;
  readonly nonSync: boolean;
}

/**
 * The literal announced at the end of `line` (`{n}`, `{n+}`, optionally after `~`), read without the
 * grammar: after a syntax error or an over-long line the client still sends a non-synchronizing
 * literal's bytes (RFC 7888 3), and they must be skipped, not read as commands.
 */
export function trailingAnnouncement(line: Buffer): Announcement | null {
  let end = line.length;
  while (end > 0 && (line[end - 1] === LF || line[end - 1] === CR)) end -= 1;
  if (line[end - 1] !== 0x7d) return null;
  let pos = end - 2;
  const nonSync = line[pos] === 0x2b;
  if (nonSync) pos -= 1;
  const digitsEnd = pos + 1;
  while (pos >= 0 && (line[pos] ?? 0) >= 0x30 && (line[pos] ?? 0) <= 0x39) pos -= 1;
  if (pos + 1 === digitsEnd || line[pos] !== 0x7b) return null;
  const digits = line.toString('latin1', pos + 1, digitsEnd);
  return { size: digits.length > 15 ? Number.POSITIVE_INFINITY : Number(digits), nonSync };
}

/** The tag at the start of a line, when it is followed by SP: for answering a line too long to parse. */
export function leadingTag(start: Buffer): string | null {
  const sp = start.indexOf(SP);
  if (sp <= 0) return null;
  for (let i = 0; i < sp; i += 1) {
    const b = start[i] ?? 0;
    // RFC 3501 9 tag characters; see command-builder.ts isTagChar.
    if (b <= SP || b >= 0x7f || '(){%*"\\+'.includes(String.fromCharCode(b))) return null;
  }
  return start.toString('latin1', 0, sp);
}

/** The last `max` bytes of `before` followed by `piece`. */
export function keepTail(before: Buffer, piece: Buffer, max = ANNOUNCEMENT_TAIL): Buffer {
  if (piece.length >= max) return Buffer.from(piece.subarray(piece.length - max));
  const joined = Buffer.concat([before, piece]);
  return joined.length > max ? Buffer.from(joined.subarray(joined.length - max)) : joined;
}
