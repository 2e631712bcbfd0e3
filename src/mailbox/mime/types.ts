// The index of one stored message: what IMAP FETCH needs (ENVELOPE, BODYSTRUCTURE, where every part's
// header and body lie in the stored bytes) without reading the message again. Made once, at delivery
// or APPEND, by indexer.ts; rendered for the wire by imap-structure.ts.

/** A stretch of the stored message: `start` is the offset of its first byte in the whole message. */
export interface ByteRange {
  start: number;
  length: number;
}

/**
 * One MIME parameter (RFC 2045 5.1). `name` is lower-cased, for matching (names are case-insensitive,
 * RFC 2045 5.1); `sentName` is the name as the sender wrote it, which BODYSTRUCTURE carries as Dovecot
 * does (absent in indexes written before it existed). RFC 2231 continuations are joined, and a
 * charset-encoded parameter keeps its trailing `*` and its encoded value (`filename*`,
 * `utf-8''J%C3%B6rg.txt`), which is what BODYSTRUCTURE carries. `decoded` is the text a person reads:
 * RFC 2231 charset and RFC 2047 encoded words (used by some senders in parameters) decoded.
 */
export interface MimeParameter {
  name: string;
  sentName?: string;
  value: string;
  decoded: string;
}

/** Content-Disposition (RFC 2183): its token as written and its parameters. */
export interface Disposition {
  value: string;
  params: MimeParameter[];
}

/** A mailbox of RFC 5322 3.4, in the shape of RFC 3501's address structure. */
export interface MailboxAddress {
  kind: 'mailbox';
  /** Display name as written (quotes removed, encoded words kept), or the comment when there is none. */
  name: string | null;
  /** The same name with RFC 2047 encoded words decoded, for SEARCH. */
  decodedName: string | null;
  /** RFC 3501 `addr-adl`: an obsolete source route (RFC 5322 4.4), without its final colon. */
  route: string | null;
  mailbox: string;
  host: string;
}

/** A group of RFC 5322 3.4 (`Team: a@x, b@y;`); RFC 3501 7.4.2 writes it between two markers. */
export interface GroupAddress {
  kind: 'group';
  name: string;
  decodedName: string;
  members: MailboxAddress[];
}

export type Address = MailboxAddress | GroupAddress;

/**
 * RFC 3501 7.4.2 ENVELOPE of a message, from its top-level header. Strings are the header values
 * unfolded (RFC 5322 2.2.3) and trimmed, encoded words kept: the IMAP layer chooses quoted or literal.
 * An absent field is null; an address field that is absent or holds no address is null. `sender` and
 * `replyTo` already carry RFC 3501's default (the From value when they are absent or empty).
 */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  sender: Address[] | null;
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
  /** RFC 2047-decoded Subject, for SEARCH SUBJECT. */
  decodedSubject: string | null;
}

/**
 * One MIME entity (RFC 2045 2.4). A multipart holds its `children` (RFC 2046 5.1); a message/rfc822
 * part holds the `message` it encloses (RFC 2046 5.2.1), whose root starts where the part's body starts.
 */
export interface MimePart {
  /**
   * IMAP part specifier (RFC 3501 6.4.5): '' for the whole message, '1', '2.1' ... The root of an
   * enclosed message has the section of the message/rfc822 part that holds it.
   */
  section: string;
  /** The header block, its terminating empty line included (what BODY[n.MIME] returns). */
  header: ByteRange;
  /**
   * The body: from after the empty line to before the line break that precedes the next boundary
   * delimiter (RFC 2046 5.1.1: that CRLF belongs to the delimiter), or to the end of the message.
   */
  body: ByteRange;
  /** Bare LFs (no CR before them) in the header and the body, to give CRLF-canonical sizes. */
  headerBareLf: number;
  bodyBareLf: number;
  /** Line ends (LF) in the body: RFC 3501 body-fld-lines for text/* and message/rfc822. */
  bodyLines: number;
  /** True when the header block passed the indexer's cap and fields after the cap were not read. */
  headerTruncated: boolean;
  /** Media type and subtype as written (case kept), or the RFC 2045 5.2 / RFC 2046 5.1.5 default. */
  type: string;
  subtype: string;
  /** True when a parsable Content-Type gave `type`/`subtype` (false: defaulted). */
  typeGiven: boolean;
  params: MimeParameter[];
  id: string | null;
  description: string | null;
  decodedDescription: string | null;
  /** Content-Transfer-Encoding token as written (RFC 2045 6.1), null when absent (7bit implied). */
  encoding: string | null;
  md5: string | null;
  disposition: Disposition | null;
  language: string[] | null;
  location: string | null;
  /** The boundary when this is a multipart that has one; without it the part is indexed as a leaf. */
  boundary: string | null;
  children: MimePart[];
  message: MimePart | null;
  /** Set on the root of every message: the top one and every enclosed message/rfc822. */
  envelope: Envelope | null;
}

/** What the indexer knows of one stored message. */
export interface MessageIndex {
  /** Octets of the whole message as stored. */
  size: number;
  root: MimePart;
  /** True when some header block passed the cap (see MimePart.headerTruncated). */
  headerTruncated: boolean;
  /** True when the nesting or part-count limits stopped the indexer from opening further parts. */
  limitsReached: boolean;
}
