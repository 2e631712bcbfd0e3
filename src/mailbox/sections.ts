// RFC 3501 6.4.5 section specifications mapped onto the byte ranges of the index, so that FETCH reads
// only the bytes a section holds. Part numbers: the parts of a multipart are 1, 2 ...; a message that
// is not multipart has one part, 1, its body; a message/rfc822 part's numbers go on into the message
// it encloses (2.1 is the first part of the message in part 2, 2.HEADER that message's header).
import type { SectionSpec } from '../imap/backend.js';
import type { ByteRange, MessageIndex, MimePart } from './mime/index.js';

/** A node reached by a part path: a whole message (the top one or an enclosed one) or one of its parts. */
export interface Located {
  part: MimePart;
  /** True for a message itself (path empty); false for a numbered part (which may be the same MimePart: part 1 of a single-part message). */
  isMessage: boolean;
}

export type SectionPlan =
  | { kind: 'empty' }
  | { kind: 'range'; range: ByteRange }
  /** The header block at `range`, filtered (HEADER.FIELDS, HEADER.FIELDS.NOT). */
  | { kind: 'fields'; range: ByteRange; names: string[]; exclude: boolean };

/**
 * True for a multipart as the index has it: one with a boundary, or one without, which the indexer
 * gives a single empty part (as Dovecot does).
 */
export function isMultipartPart(part: MimePart): boolean {
  return part.boundary !== null || part.children.length > 0;
}

/** Part `n` of a message (1-based): a multipart's child, or the single part that is the body. */
function partOfMessage(message: MimePart, n: number): MimePart | undefined {
  if (isMultipartPart(message)) return message.children[n - 1];
  return n === 1 ? message : undefined;
}

/**
 * Part `n` inside a part: a multipart's child; for a message/rfc822 part, part n of the message it
 * holds; for any other part, `1` is the part itself (as Dovecot answers BODY[1.1.1] of a text part).
 */
function partOfPart(part: MimePart, n: number): MimePart | undefined {
  if (isMultipartPart(part)) return part.children[n - 1];
  if (part.message) return partOfMessage(part.message, n);
  return n === 1 ? part : undefined;
}

/** The node a part path names, or null when there is no such part. */
export function locate(index: MessageIndex, path: readonly number[]): Located | null {
  if (path.length === 0) return { part: index.root, isMessage: true };
  let part = partOfMessage(index.root, path[0]!);
  for (let i = 1; part && i < path.length; i++) part = partOfPart(part, path[i]!);
  return part ? { part, isMessage: false } : null;
}

/** The message whose HEADER/TEXT a located node offers: itself, or the one a message/rfc822 part encloses. */
function messageAt(located: Located): MimePart | null {
  if (located.isMessage) return located.part;
  return located.part.message;
}

/** What to read for a section; `empty` when it names nothing (Dovecot answers "" then too). */
export function planSection(index: MessageIndex, spec: SectionSpec): SectionPlan {
  const located = locate(index, spec.path);
  if (!located) return { kind: 'empty' };
  const { part } = located;
  switch (spec.text) {
    case undefined:
      // `[]` is the whole message; a part's own content (for message/rfc822: the whole enclosed message).
      return located.isMessage && spec.path.length === 0 ? { kind: 'range', range: { start: 0, length: index.size } } : { kind: 'range', range: part.body };
    case 'MIME':
      // RFC 3501 6.4.5: MIME is the part's own header; it has no meaning for a whole message.
      return located.isMessage ? { kind: 'empty' } : { kind: 'range', range: part.header };
    case 'HEADER':
    case 'TEXT':
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      const message = messageAt(located);
      if (!message) return { kind: 'empty' };
      if (spec.text === 'HEADER') return { kind: 'range', range: message.header };
      if (spec.text === 'TEXT') return { kind: 'range', range: message.body };
      return { kind: 'fields', range: message.header, names: spec.fields ?? [], exclude: spec.text === 'HEADER.FIELDS.NOT' };
    }
    default:
      return { kind: 'empty' };
  }
}
