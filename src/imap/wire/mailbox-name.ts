// Mailbox names on the wire: modified UTF-7 (RFC 3501 5.1.3). Printable US-ASCII stands for itself,
// except `&`, which is written `&-`; anything else is UTF-16 in modified BASE64 (`,` for `/`, no
// padding) between `&` and `-`. Clients that ENABLE UTF8=ACCEPT send UTF-8 instead (RFC 6855 3);
// that choice belongs to the connection, not here.

const AMPERSAND = 0x26;

/** A lone surrogate: a string holding one is not Unicode text. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isPrintableAscii(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

/** UTF-16 code units as modified BASE64 (RFC 3501 5.1.3, after RFC 2152). */
function shiftedRun(units: number[]): string {
  const bytes = Buffer.alloc(units.length * 2);
  units.forEach((unit, i) => bytes.writeUInt16BE(unit, i * 2));
  return `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
}

/** A mailbox name (a well-formed Unicode string) as modified UTF-7. */
export function encodeMailboxName(name: string): string {
  if (LONE_SURROGATE.test(name)) throw new RangeError('mailbox name is not well-formed Unicode');
  let out = '';
  let pending: number[] = [];
  for (let i = 0; i < name.length; i += 1) {
    const code = name.charCodeAt(i);
    if (!isPrintableAscii(code)) {
      pending.push(code);
      continue;
    }
    if (pending.length > 0) {
      out += shiftedRun(pending);
      pending = [];
    }
    out += code === AMPERSAND ? '&-' : name[i];
  }
  if (pending.length > 0) out += shiftedRun(pending);
  return out;
}

/**
 * The text of one shifted run, or null when the run is not the canonical encoding (stray bits, odd
 * length, wrong alphabet), encodes printable US-ASCII, or breaks a surrogate pair.
 */
function decodeRun(base64: string): string | null {
  if (!/^[A-Za-z0-9+,]+$/.test(base64) || base64.length % 4 === 1) return null;
  const standard = base64.replace(/,/g, '/');
  const bytes = Buffer.from(standard, 'base64');
  if (bytes.length % 2 !== 0 || bytes.toString('base64').replace(/=+$/, '') !== standard) return null;
  for (let i = 0; i < bytes.length; i += 2) if (isPrintableAscii(bytes.readUInt16BE(i))) return null;
  const text = bytes.swap16().toString('utf16le');
  return LONE_SURROGATE.test(text) ? null : text;
}

/**
 * A mailbox name from its modified UTF-7 form, or null when the form is invalid (RFC 3501 5.1.3):
 * characters outside printable US-ASCII, an unterminated or malformed run, broken surrogate pairs,
 * or a run encoding a printable US-ASCII character, which "MUST NOT" be encoded.
 */
export function decodeMailboxName(wire: string): string | null {
  let out = '';
  let i = 0;
  while (i < wire.length) {
    const code = wire.charCodeAt(i);
    if (!isPrintableAscii(code)) return null;
    if (code !== AMPERSAND) {
      out += wire[i];
      i += 1;
      continue;
    }
    const end = wire.indexOf('-', i + 1);
    if (end === -1) return null;
    if (end === i + 1) {
      out += '&';
    } else {
      const text = decodeRun(wire.slice(i + 1, end));
      if (text === null) return null;
      out += text;
    }
    i = end + 1;
  }
  return out;
}
