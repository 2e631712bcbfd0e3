// Field values for delivery status notifications. Everything here may come from the far side (a remote
// reply, a remote host name) or from a client (addresses, ORCPT, ENVID), so every value is made one line
// before it goes near a header: a CR or LF in a remote answer must never start a header of its own.
// The message/delivery-status part is 7-bit text (RFC 3464 2.1), so its values are also kept ASCII.
import { oneLine } from '../core/rfc5322.js';

/** One line of printable ASCII: anything else becomes `?`. */
export function asciiLine(text: string): string {
  return oneLine(text).replace(/[^\x20-\x7e]/g, '?');
}

export function isAscii(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length;
}

/** A host name or address literal as it may appear after `dns;` or in From:; empty when nothing is left. */
export function hostName(text: string): string {
  return text.replace(/[^A-Za-z0-9.:_[\]-]/g, '').slice(0, 255);
}

/** An envelope address fit to stand between angle brackets in a header or the text part. */
export function envelopeAddress(address: string): string {
  return oneLine(address).replace(/[<>]/g, '').slice(0, 512);
}

/**
 * `Name: value` with CRLF, folded at spaces so lines stay under 78 characters where the words allow
 * (RFC 5322 2.2.3); a word too long for the hard limit of 998 is cut.
 */
export function headerField(name: string, value: string): string {
  const words = oneLine(value).split(' ').filter(Boolean).flatMap((word) => chunks(word, 900));
  const lines: string[] = [];
  let line = `${name}:`;
  words.forEach((word, i) => {
    if (i > 0 && line.length + 1 + word.length > 78) {
      lines.push(line);
      line = ` ${word}`;
    } else {
      line += ` ${word}`;
    }
  });
  lines.push(line);
  return `${lines.join('\r\n')}\r\n`;
}

/** Plain text wrapped at `width`, continuation lines indented; for the human-readable part. */
export function wrapText(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').flatMap((w) => chunks(w, width))) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function chunks(word: string, size: number): string[] {
  if (word.length <= size) return [word];
  const parts: string[] = [];
  for (let i = 0; i < word.length; i += size) parts.push(word.slice(i, i + size));
  return parts;
}

/**
 * `rfc822; addr` for an ASCII address; for an internationalized one the `utf-8` address type of RFC 6533 3
 * in its all-ASCII xtext form, where other characters and `+`, `=`, `\` are written `\x{HEX}`.
 */
export function typedAddress(address: string): string {
  const clean = envelopeAddress(address);
  if (isAscii(clean)) return `rfc822; ${clean}`;
  let encoded = '';
  for (const char of clean) {
    const code = char.codePointAt(0) ?? 0;
    const plain = code >= 0x21 && code <= 0x7e && char !== '+' && char !== '=' && char !== '\\';
    encoded += plain ? char : `\\x{${code.toString(16).toUpperCase()}}`;
  }
  return `utf-8; ${encoded}`;
}

/** The ORCPT value (RFC 3461 4.2, already xtext-decoded by the SMTP server) as RFC 3464 2.3.1 wants it. */
export function originalRecipient(orcpt: string): string {
  const clean = asciiLine(orcpt);
  const semi = clean.indexOf(';');
  const type = semi > 0 ? clean.slice(0, semi).trim() : '';
  if (!/^[A-Za-z0-9-]+$/.test(type)) return `rfc822; ${clean}`;
  return `${type}; ${clean.slice(semi + 1).trim()}`;
}

/**
 * RFC 3464 2.3.6: an SMTP reply is `smtp; 550 5.1.1 ...`; a value that already names its type keeps it;
 * anything else is Letterbox's own reason (no route, expired) and says so.
 */
export function diagnosticCode(diagnostic: string): string {
  const clean = replyLine(diagnostic).slice(0, 2000);
  const typed = /^(smtp|x-[A-Za-z0-9-]+)\s*;\s*(.*)$/i.exec(clean);
  if (typed) return `${typed[1]}; ${typed[2]}`;
  if (/^[2-5]\d\d([ -]|$)/.test(clean)) return `smtp; ${clean}`;
  return `X-Letterbox; ${clean}`;
}

/**
 * A multi-line SMTP reply (`550-5.1.1 first` CRLF `550 5.1.1 last`) as one line of ASCII, the code said
 * once; anything else simply made one line.
 */
export function replyLine(reply: string): string {
  const lines = reply.split(/\r\n|\r|\n/).filter((line) => line.trim());
  if (lines.length < 2 || !/^[2-5]\d\d-/.test(lines[0] ?? '')) return asciiLine(reply);
  const rest = lines.slice(1).map((line) => line.replace(/^[2-5]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3} )?/, ''));
  return asciiLine([(lines[0] ?? '').replace(/^(\d\d\d)-/, '$1 '), ...rest].join(' '));
}

/** RFC 3463 status code, or the generic one for the action when what was given is not one. */
export function statusCode(status: string, action: string): string {
  if (/^[245]\.\d{1,3}\.\d{1,3}$/.test(status.trim())) return status.trim();
  if (action === 'failed') return '5.0.0';
  if (action === 'delayed') return '4.0.0';
  return '2.0.0';
}
