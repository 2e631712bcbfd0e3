// RFC 3516 BINARY[section] as Dovecot gives it: a leaf part is its content decoded; a multipart, a
// message/rfc822 part or the whole message is its bytes with every part inside that has a base64 or
// quoted-printable body decoded in place and that part's Content-Transfer-Encoding field made
// `binary`. An encoding that cannot be undone anywhere inside is UNKNOWN-CTE (RFC 3516 4.3).
import { decodeTransfer, isIdentityEncoding } from './binary.js';
import { rawFields } from './header-block.js';
import type { ByteRange, MimePart } from './mime/index.js';
import { isMultipartPart } from './sections.js';

/** One stretch of the original to replace: a header (`part` rewritten) or a body (decoded). */
interface Rewrite {
  range: ByteRange;
  part: MimePart;
  what: 'header' | 'body';
}

/** Whether a part's bytes are its content as they stand (multiparts and enclosed messages are containers). */
export function isContainer(part: MimePart): boolean {
  return isMultipartPart(part) || part.message !== null;
}

/** The leaves under `part` (itself when it is one) whose bodies need decoding, in byte order. */
function encodedLeaves(part: MimePart, out: MimePart[] = []): MimePart[] {
  if (isMultipartPart(part)) for (const child of part.children) encodedLeaves(child, out);
  else if (part.message) encodedLeaves(part.message, out);
  else if (!isIdentityEncoding(part.encoding)) out.push(part);
  return out;
}

/** True when BINARY of `part` differs from its bytes (some leaf inside is base64, quoted-printable or unknown). */
export function hasEncodedLeaves(part: MimePart): boolean {
  return encodedLeaves(part).length > 0;
}

/** The header block with its Content-Transfer-Encoding field(s) saying `binary`. */
function binaryHeader(header: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let cursor = 0;
  for (const field of rawFields(header)) {
    if (field.name !== 'content-transfer-encoding') continue;
    const at = field.raw.byteOffset - header.byteOffset;
    const ending = field.raw.subarray(field.raw.length - 2).toString('latin1') === '\r\n' ? '\r\n' : field.raw.at(-1) === 0x0a ? '\n' : '';
    pieces.push(header.subarray(cursor, at), Buffer.from(`Content-Transfer-Encoding: binary${ending}`, 'latin1'));
    cursor = at + field.raw.length;
  }
  pieces.push(header.subarray(cursor));
  return Buffer.concat(pieces);
}

/**
 * The BINARY content of `region` (the bytes read for it: `bytes`), where `root` is the part that spans
 * it: a leaf gives its decoded body; anything else its bytes with the leaves inside decoded.
 * `withHeader`: the region starts with root's own header (the whole message).
 */
export function binaryOf(root: MimePart, region: ByteRange, bytes: Buffer, withHeader: boolean): Buffer {
  const local = (range: ByteRange) => bytes.subarray(range.start - region.start, range.start - region.start + range.length);
  if (!isContainer(root) && !withHeader) return decodeTransfer(root.encoding, local(root.body));
  const rewrites: Rewrite[] = [];
  for (const leaf of encodedLeaves(root)) {
    if (leaf !== root || withHeader) rewrites.push({ range: leaf.header, part: leaf, what: 'header' });
    rewrites.push({ range: leaf.body, part: leaf, what: 'body' });
  }
  if (rewrites.length === 0) return bytes;
  const pieces: Buffer[] = [];
  let cursor = region.start;
  for (const rewrite of rewrites) {
    if (rewrite.range.start < cursor) continue;
    pieces.push(local({ start: cursor, length: rewrite.range.start - cursor }));
    const original = local(rewrite.range);
    pieces.push(rewrite.what === 'header' ? binaryHeader(original) : decodeTransfer(rewrite.part.encoding, original));
    cursor = rewrite.range.start + rewrite.range.length;
  }
  pieces.push(local({ start: cursor, length: region.start + region.length - cursor }));
  return Buffer.concat(pieces);
}
