// Text for SEARCH BODY and TEXT (RFC 3501 6.4.4): what a person reads, not the bytes on the wire. Each
// text/* part's body with its transfer encoding undone and its charset turned into UTF-8, HTML reduced
// to its text (roughly: tags dropped, entities decoded), and for TEXT the headers too, encoded words
// decoded. Enclosed messages count as part of the text, their headers included for TEXT. Parts of
// other types (images, attachments) are not text and are left out, as Dovecot leaves them.
import { decode as decodeCharset } from 'libmime/lib/charset';
import { decodeTransferLeniently } from './binary.js';
import { decodedHeaderText } from './header-block.js';
import type { MessageIndex, MimePart } from './mime/index.js';
import { isMultipartPart } from './sections.js';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** HTML as text, roughly: scripts and styles dropped, tags made spaces, entities decoded. */
export function htmlText(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

function charsetOf(part: MimePart): string {
  return part.params.find((param) => param.name === 'charset')?.decoded || 'us-ascii';
}

/** A text part's body as a string. */
function partText(message: Buffer, part: MimePart): string {
  const raw = message.subarray(part.body.start, part.body.start + part.body.length);
  const bytes = decodeTransferLeniently(part.encoding, raw);
  let text: string;
  try {
    text = decodeCharset(bytes, charsetOf(part));
  } catch {
    text = bytes.toString('latin1');
  }
  return part.subtype.toLowerCase() === 'html' ? htmlText(text) : text;
}

/** The texts of a part and what it holds, depth first. */
function collect(message: Buffer, part: MimePart, withHeaders: boolean, out: string[]): void {
  if (isMultipartPart(part)) {
    for (const child of part.children) collect(message, child, withHeaders, out);
    return;
  }
  if (part.message) {
    if (withHeaders) out.push(decodedHeaderText(slice(message, part.message.header.start, part.message.header.length)));
    collect(message, part.message, withHeaders, out);
    return;
  }
  if (part.type.toLowerCase() === 'text') out.push(partText(message, part));
}

function slice(message: Buffer, start: number, length: number): Buffer {
  return message.subarray(start, start + length);
}

/** BODY: the decoded body text; TEXT: the decoded header, then the body text. */
export function searchableText(message: Buffer, index: MessageIndex, scope: 'body' | 'text'): string {
  const out: string[] = [];
  if (scope === 'text') out.push(decodedHeaderText(slice(message, index.root.header.start, index.root.header.length)));
  collect(message, index.root, scope === 'text', out);
  return out.join('\n');
}
