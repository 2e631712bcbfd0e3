// RFC 6154 special-use attributes: the ones this server gives folders (the six default folders'
// uses bar INBOX) and the ones it knows but cannot give (\All and \Flagged are virtual folders).
import type { ImapValue } from '../wire/values.js';

/** Uses a folder can have here, as the backend spells them. */
export const SUPPORTED_USES = ['\\Archive', '\\Drafts', '\\Junk', '\\Sent', '\\Trash'] as const;

/** Every RFC 6154 attribute, for telling a known-but-refused use from a syntax error. */
const KNOWN_USES = [...SUPPORTED_USES, '\\All', '\\Flagged', '\\Important'];

export interface UseAttribute {
  /** As the client wrote it. */
  readonly written: string;
  /** The attribute as this server gives it, or null when it cannot. */
  readonly supported: string | null;
}

/** RFC 6154 6 use-attr list: flags (`\` atoms) read case-insensitively; null when one is not a flag. */
export function readUseAttributes(items: readonly ImapValue[] | null): UseAttribute[] | null {
  if (items === null) return null;
  const out: UseAttribute[] = [];
  for (const item of items) {
    if (item.kind !== 'atom' || item.section || !item.text.startsWith('\\') || item.text.length < 2) return null;
    const upper = item.text.toUpperCase();
    const supported = SUPPORTED_USES.find((use) => use.toUpperCase() === upper) ?? null;
    out.push({ written: item.text, supported });
  }
  return out;
}

/** Whether `attribute` is an RFC 6154 one (LIST shows it; others the backend gave are left out). */
export function isSpecialUse(attribute: string): boolean {
  return KNOWN_USES.some((use) => use.toUpperCase() === attribute.toUpperCase());
}
