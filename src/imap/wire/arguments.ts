// Readings of parsed arguments for command handlers, by the grammar rule a position expects
// (RFC 3501 9). Each answers null when the value does not fit, for the handler to answer BAD.
import { MAX_SEQ_NUMBER, type SequenceSet } from './sequence-set.js';
import type { ImapValue, ListValue } from './values.js';

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8 text, or null when they are not valid UTF-8. */
export function utf8Text(bytes: Buffer): string | null {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * RFC 3501 9 astring: an atom (whatever it was read as: `007`, `NIL`, `*`) or a string, as bytes.
 * An atom with a section is not an astring.
 */
export function astringBytes(value: ImapValue | undefined): Buffer | null {
  if (!value || value.kind === 'list') return null;
  if (value.kind === 'string') return value.value;
  if (value.kind === 'atom' && value.section) return null;
  return Buffer.from(value.text, 'latin1');
}

/** An astring as UTF-8 text (mailbox names, user names, search strings). */
export function astringText(value: ImapValue | undefined): string | null {
  const bytes = astringBytes(value);
  return bytes === null ? null : utf8Text(bytes);
}

/** RFC 3501 9 nstring: undefined for NIL, else a string's bytes (null when it is neither). */
export function nstringBytes(value: ImapValue | undefined): Buffer | null | undefined {
  if (value?.kind === 'nil') return undefined;
  return value?.kind === 'string' ? value.value : null;
}

/** An atom's text in upper case, for keywords such as FLAGS, CHARSET or +FLAGS.SILENT. */
export function keyword(value: ImapValue | undefined): string | null {
  return value?.kind === 'atom' && !value.section ? value.text.toUpperCase() : null;
}

export function numberArg(value: ImapValue | undefined): number | null {
  return value?.kind === 'number' ? value.value : null;
}

/** RFC 3501 9 sequence-set: a set, or a single non-zero 32-bit number read as a number. */
export function sequenceArg(value: ImapValue | undefined): SequenceSet | null {
  if (value?.kind === 'sequence') return value.set;
  if (value?.kind === 'number' && value.value >= 1 && value.value <= MAX_SEQ_NUMBER && !value.text.startsWith('0')) {
    return { ranges: [{ start: value.value, end: value.value }], lastResult: false };
  }
  return null;
}

export function listArg(value: ImapValue | undefined): ListValue['items'] | null {
  return value?.kind === 'list' ? value.items : null;
}
