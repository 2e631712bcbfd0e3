// Reading one header block (RFC 5322 2.2): its fields unfolded (2.2.3: a line break followed by WSP is
// removed, the WSP kept) and trimmed. Only the fields the index needs are kept, so that the state held
// per part stays small whatever the header holds.

const FOLD_CONTINUES = new Set([0x20, 0x09]);

/** Header fields wanted by the index: the MIME fields of RFC 2045 and the ENVELOPE fields of RFC 3501. */
const WANTED = new Set([
  'content-type', 'content-transfer-encoding', 'content-id', 'content-description', 'content-disposition',
  'content-language', 'content-location', 'content-md5',
  'date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id',
]);

/**
 * Fields whose value goes to the client as a string with its trailing white space, as Dovecot 2.3 sends
 * them (checked against it: `Message-ID: <a@b>   `). The Subject is trimmed, as Dovecot does; the other
 * fields are parsed, so their trailing white space does not matter.
 */
const KEEP_TRAILING_SPACE = new Set(['date', 'in-reply-to', 'message-id', 'content-id', 'content-description', 'content-md5', 'content-location']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes of a header value as text: UTF-8 when they are valid UTF-8 (RFC 6532 allows it; 7-bit is a
 * subset), otherwise ISO-8859-1 so that every byte still maps to one character and nothing is lost.
 */
export function headerText(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** The wanted fields of a header block, by lower-cased name, each occurrence in order. */
export type HeaderFields = Map<string, string[]>;

/** Splits `block` (the header bytes, perhaps truncated) into unfolded fields. Lines without a colon are skipped. */
export function readHeaderFields(block: Buffer): HeaderFields {
  const fields: HeaderFields = new Map();
  let fieldStart = -1;
  let at = 0;
  while (at < block.length) {
    const lf = block.indexOf(0x0a, at);
    const next = lf < 0 ? block.length : lf + 1;
    const first = block[at];
    if (first === undefined || !FOLD_CONTINUES.has(first)) {
      if (fieldStart >= 0) addField(fields, block.subarray(fieldStart, at));
      fieldStart = at;
    }
    at = next;
  }
  if (fieldStart >= 0) addField(fields, block.subarray(fieldStart, block.length));
  return fields;
}

function addField(fields: HeaderFields, raw: Buffer): void {
  const colon = raw.indexOf(0x3a);
  if (colon <= 0) return;
  const name = raw.subarray(0, colon).toString('latin1').trim().toLowerCase();
  if (!WANTED.has(name)) return;
  const trailing = KEEP_TRAILING_SPACE.has(name) ? /^[ \t]+|[\r\n]+$/g : /^[ \t]+|[ \t\r\n]+$/g;
  const value = headerText(unfold(raw.subarray(colon + 1))).replace(trailing, '');
  const list = fields.get(name);
  if (list) list.push(value);
  else fields.set(name, [value]);
}

/** RFC 5322 2.2.3 unfolding: every CR and LF removed; the WSP that starts a continuation line stays. */
function unfold(value: Buffer): Buffer {
  if (value.indexOf(0x0a) < 0 && value.indexOf(0x0d) < 0) return value;
  const out = Buffer.allocUnsafe(value.length);
  let length = 0;
  for (const byte of value) {
    if (byte !== 0x0a && byte !== 0x0d) out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** The first occurrence of a field (RFC 5322 3.6 allows most only once; later copies are ignored). */
export function firstField(fields: HeaderFields, name: string): string | null {
  return fields.get(name)?.[0] ?? null;
}
