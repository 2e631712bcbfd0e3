// Delivery status notifications: the bounces, delay warnings and success reports Letterbox sends.
//
// How this works: buildDsn() returns a stream of one RFC 5322 message (CRLF line ends), a
// multipart/report (RFC 6522) with three parts: a short English explanation, the machine-readable
// message/delivery-status (RFC 3464), and what is returned of the original: its header block as
// text/rfc822-headers, or the whole message as message/rfc822 when the client asked RET=FULL (RFC 3461
// 4.3). The original is never held whole: the header block is read up to its blank line (at most
// 256 KB) and the original is then dropped; a full copy is piped chunk by chunk and only when it is no
// larger than `maxReturnBytes` (50 KB, as Postfix's bounce_size_limit), otherwise the headers are
// returned and the text says so. A bounce can go to a forged sender (backscatter), so it must never
// carry much of what a stranger sent.
//
// The caller sends the result from the null reverse-path `<>` (RFC 5321 4.5.5, RFC 3464 2) and decides
// whether to send one at all: shouldBounce() for the sender, dsnWanted() for each recipient's NOTIFY.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { LetterboxError } from '../core/errors.js';
import { BlankLineFinder, oneLine, rfc5322Date } from '../core/rfc5322.js';
import {
  asciiLine,
  diagnosticCode,
  envelopeAddress,
  headerField,
  hostName,
  isAscii,
  originalRecipient,
  replyLine,
  statusCode,
  typedAddress,
  wrapText,
} from './dsn-fields.js';

export type DsnKind = 'failure' | 'delay' | 'success';

/** RFC 3464 2.3.3 */
export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipient {
  /** The envelope recipient we tried (Final-Recipient). */
  address: string;
  /** ORCPT as the client gave it, xtext-decoded: `rfc822;bob@example.net` (RFC 3461 4.2). */
  orcpt?: string;
  action: DsnAction;
  /** RFC 3463 code, e.g. `5.1.1`; a value that is not one becomes 5.0.0, 4.0.0 or 2.0.0 by the action. */
  status: string;
  /** The server that answered (Remote-MTA: dns; host). */
  remoteMta?: string;
  /** The far side's answer (`550 5.1.1 <bob@example.net>: no such user`) or our own reason. */
  diagnostic?: string;
  lastAttempt?: Date;
  /** For delayed recipients: when the queue gives up. */
  willRetryUntil?: Date;
}

export interface DsnInput {
  /** Derived from the recipients when absent: any failed -> failure, else any delayed -> delay, else success. */
  kind?: DsnKind;
  /** Our host name: Reporting-MTA and the From: address. */
  reportingMta: string;
  /** The original envelope sender, who receives this report. Must not be '' (the null reverse-path). */
  sender: string;
  envid?: string;
  arrivalDate: Date;
  /** RFC 3461 4.3. Absent means HDRS. FULL is honoured only in a report of a failure. */
  ret?: 'FULL' | 'HDRS';
  recipients: DsnRecipient[];
  /** Opens the stored original. Called once, or twice for RET=FULL when `originalSize` is not given. */
  original: () => Readable;
  /** Size of the original in bytes when known (QueueEntry.size); spares a counting pass for RET=FULL. */
  originalSize?: number;
  /** Largest original returned whole; larger ones are returned as headers. Default 50 KB. */
  maxReturnBytes?: number;
  /** The queue id, for the postmaster (X-Letterbox-Queue-ID in the report). */
  queueId?: string;
  /** Message-ID for the report, with or without angle brackets; a random one at reportingMta otherwise. */
  messageId?: () => string;
  now?: Date;
}

export const DSN_MAX_RETURN_BYTES = 50 * 1024;
/** A header block longer than this is cut at a line end; no real message gets near it. */
const MAX_HEADER_BYTES = 256 * 1024;

const SUBJECTS: Record<DsnKind, string> = {
  failure: 'Undelivered Mail Returned to Sender',
  delay: 'Delayed Mail (still being retried)',
  success: 'Successful Mail Delivery Report',
};

/** RFC 3461 6.2 / RFC 3834 2: nothing is ever sent back to the null reverse-path. */
export function shouldBounce(sender: string): boolean {
  const path = sender.trim();
  return path !== '' && path !== '<>';
}

/**
 * RFC 3461 4.1: may we send a report of `event` for a recipient that gave this NOTIFY? NEVER wins over
 * anything it is mixed with. Without NOTIFY the RFC leaves FAILURE or FAILURE,DELAY to the MTA; Letterbox
 * takes FAILURE,DELAY, because the queue's delay warning (after 4 hours) is a promised default.
 */
export function dsnWanted(notify: string[] | undefined, event: DsnKind): boolean {
  const words = (notify ?? [])
    .flatMap((word) => word.split(','))
    .map((word) => word.trim().toUpperCase())
    .filter(Boolean);
  if (words.length === 0) return event !== 'success';
  if (words.includes('NEVER')) return false;
  const wanted = { failure: 'FAILURE', delay: 'DELAY', success: 'SUCCESS' }[event];
  return words.includes(wanted);
}

/** Everything about the report that is known before the original is opened. */
interface Plan {
  kind: DsnKind;
  host: string;
  sender: string;
  boundary: string;
  messageId: string;
  now: Date;
  wantFull: boolean;
  maxReturnBytes: number;
}

/** What is returned of the original, decided after a look at it. */
type Returned =
  | { mode: 'full' }
  | { mode: 'headers'; block: Buffer; eightBit: boolean; tooLarge?: number };

/** The report as a stream. Throws at once (LetterboxError INVALID) for a report that must not exist. */
export function buildDsn(input: DsnInput): Readable {
  const plan = planFor(input);
  return Readable.from(emit(input, plan), { objectMode: false, highWaterMark: 64 * 1024 });
}

function planFor(input: DsnInput): Plan {
  if (!shouldBounce(input.sender)) throw new LetterboxError('INVALID', 'no delivery report is ever sent to <>');
  if (input.recipients.length === 0) throw new LetterboxError('INVALID', 'a delivery report needs at least one recipient');
  const host = hostName(input.reportingMta);
  if (!host) throw new LetterboxError('INVALID', 'a delivery report needs the reporting host name');
  const now = input.now ?? new Date();
  const kind = input.kind ?? kindOf(input.recipients);
  const given = input.messageId ? asciiLine(input.messageId()).replace(/[<>\s]/g, '') : '';
  const messageId = given.includes('@') ? `<${given}>` : `<${now.getTime().toString(36)}.${randomBytes(8).toString('hex')}@${host}>`;
  return {
    kind,
    host,
    sender: envelopeAddress(input.sender),
    boundary: `=_lb_${randomBytes(18).toString('base64url')}`,
    messageId,
    now,
    // RFC 3461 4.3: RET asks for the message in a report of failure; other reports carry headers.
    wantFull: input.ret === 'FULL' && input.recipients.some((r) => r.action === 'failed'),
    maxReturnBytes: input.maxReturnBytes ?? DSN_MAX_RETURN_BYTES,
  };
}

function kindOf(recipients: DsnRecipient[]): DsnKind {
  if (recipients.some((r) => r.action === 'failed')) return 'failure';
  if (recipients.some((r) => r.action === 'delayed')) return 'delay';
  return 'success';
}

async function* emit(input: DsnInput, plan: Plan): AsyncGenerator<Buffer> {
  const returned = await chooseReturn(input, plan);
  const eightBit = returned.mode === 'full' || returned.eightBit;
  const delimiter = `\r\n--${plan.boundary}\r\n`;
  const head =
    topHeader(plan, eightBit) +
    '\r\nThis is a MIME-encapsulated message.\r\n' +
    delimiter +
    textPart(input, plan, returned) +
    delimiter +
    'Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n' +
    deliveryStatus(input, plan) +
    delimiter +
    returnedPartHeader(returned);
  yield Buffer.from(head, 'utf8');
  if (returned.mode === 'full') yield* fullCopy(input.original(), plan.maxReturnBytes);
  else yield returned.block;
  yield Buffer.from(`\r\n--${plan.boundary}--\r\n`);
}

function topHeader(plan: Plan, eightBit: boolean): string {
  return (
    headerField('From', `Mail Delivery System <MAILER-DAEMON@${plan.host}>`) +
    headerField('To', `<${plan.sender}>`) +
    headerField('Subject', SUBJECTS[plan.kind]) +
    headerField('Date', rfc5322Date(plan.now, 'utc')) +
    headerField('Message-ID', plan.messageId) +
    // RFC 3834 5: an automatic answer to a message; well-behaved responders do not answer it.
    headerField('Auto-Submitted', 'auto-replied') +
    headerField('MIME-Version', '1.0') +
    headerField('Content-Type', `multipart/report; report-type=delivery-status; boundary="${plan.boundary}"`) +
    headerField('Content-Transfer-Encoding', eightBit ? '8bit' : '7bit')
  );
}

async function chooseReturn(input: DsnInput, plan: Plan): Promise<Returned> {
  let tooLarge: number | undefined;
  if (plan.wantFull) {
    const size = input.originalSize ?? (await measure(input.original(), plan.maxReturnBytes));
    if (size <= plan.maxReturnBytes) return { mode: 'full' };
    tooLarge = size;
  }
  const block = await headerBlock(input.original());
  return { mode: 'headers', block, eightBit: block.some((byte) => byte >= 0x80), ...(tooLarge ? { tooLarge } : {}) };
}

/** Bytes in the original, counted without keeping them; stops once past `limit`. */
async function measure(original: Readable, limit: number): Promise<number> {
  let size = 0;
  for await (const chunk of original as AsyncIterable<Buffer | string>) {
    size += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (size > limit) break;
  }
  return size;
}

/** The original's header section, through the line break before the empty line, in CRLF form. */
async function headerBlock(original: Readable): Promise<Buffer> {
  const finder = new BlankLineFinder();
  let held = Buffer.alloc(0);
  for await (const chunk of original as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const end = finder.scan(bytes, held.length);
    held = Buffer.concat([held, bytes]);
    if (end >= 0) return toCrlf(held.subarray(0, end), { cr: false }, true);
    if (held.length > MAX_HEADER_BYTES) {
      const cut = held.subarray(0, MAX_HEADER_BYTES);
      return toCrlf(cut.subarray(0, cut.lastIndexOf(0x0a) + 1), { cr: false }, true);
    }
  }
  // A message that is all header: the block ends with the data.
  return toCrlf(held, { cr: false }, true);
}

/** The whole original, line ends made CRLF on the way; never more than `limit` bytes of it. */
async function* fullCopy(original: Readable, limit: number): AsyncGenerator<Buffer> {
  const state = { cr: false };
  let copied = 0;
  for await (const chunk of original as AsyncIterable<Buffer | string>) {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // The size was checked before; this only bounds the report if the original has grown since.
    if (copied + bytes.length > limit) bytes = bytes.subarray(0, limit - copied);
    copied += bytes.length;
    yield toCrlf(bytes, state, false);
    if (copied >= limit) break;
  }
  if (state.cr) yield Buffer.from('\n');
}

/** Bare LF and bare CR become CRLF (SMTP and RFC 5322 know no other line end). */
function toCrlf(bytes: Buffer, state: { cr: boolean }, last: boolean): Buffer {
  if (!state.cr && !last && bytes.indexOf(0x0d) < 0 && bytes.indexOf(0x0a) < 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length * 2 + 1);
  let n = 0;
  for (const byte of bytes) {
    if (byte === 0x0a) {
      if (!state.cr) out[n++] = 0x0d;
      out[n++] = 0x0a;
      state.cr = false;
    } else {
      if (state.cr) out[n++] = 0x0a;
      out[n++] = byte;
      state.cr = byte === 0x0d;
    }
  }
  if (last && state.cr) out[n++] = 0x0a;
  // A header block always ends with its line break, whatever the original did.
  if (last && n > 0 && out[n - 1] !== 0x0a) {
    out[n++] = 0x0d;
    out[n++] = 0x0a;
  }
  return out.subarray(0, n);
}

function returnedPartHeader(returned: Returned): string {
  if (returned.mode === 'full') {
    // 8bit is always a true label for a message that may be 8-bit; the sender used what it needed.
    return 'Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n';
  }
  const encoding = returned.eightBit ? '8bit' : '7bit';
  return `Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`;
}

/** RFC 3464 2.2 and 2.3, in the order of the RFC's grammar; every value one line of ASCII. */
function deliveryStatus(input: DsnInput, plan: Plan): string {
  let fields = '';
  if (input.envid) fields += headerField('Original-Envelope-Id', asciiLine(input.envid).slice(0, 100));
  fields += headerField('Reporting-MTA', `dns; ${plan.host}`);
  fields += headerField('Arrival-Date', rfc5322Date(input.arrivalDate, 'utc'));
  if (input.queueId) fields += headerField('X-Letterbox-Queue-ID', asciiLine(input.queueId));
  for (const recipient of input.recipients) fields += '\r\n' + recipientFields(recipient);
  return fields;
}

function recipientFields(recipient: DsnRecipient): string {
  let fields = '';
  if (recipient.orcpt) fields += headerField('Original-Recipient', originalRecipient(recipient.orcpt));
  fields += headerField('Final-Recipient', typedAddress(recipient.address));
  fields += headerField('Action', recipient.action);
  fields += headerField('Status', statusCode(recipient.status, recipient.action));
  const remote = recipient.remoteMta ? hostName(recipient.remoteMta) : '';
  if (remote) fields += headerField('Remote-MTA', `dns; ${remote}`);
  if (recipient.diagnostic && oneLine(recipient.diagnostic)) fields += headerField('Diagnostic-Code', diagnosticCode(recipient.diagnostic));
  if (recipient.lastAttempt) fields += headerField('Last-Attempt-Date', rfc5322Date(recipient.lastAttempt, 'utc'));
  if (recipient.action === 'delayed' && recipient.willRetryUntil) fields += headerField('Will-Retry-Until', rfc5322Date(recipient.willRetryUntil, 'utc'));
  return fields;
}

/** The human-readable part: plain ASCII, or base64 UTF-8 when an address is internationalized. */
function textPart(input: DsnInput, plan: Plan, returned: Returned): string {
  const text = explanation(input, plan, returned).join('\r\n') + '\r\n';
  const head = 'Content-Description: Notification\r\n';
  if (isAscii(text)) return `${head}Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${text}`;
  const base64 = Buffer.from(text, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
  return `${head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64}\r\n`;
}

function explanation(input: DsnInput, plan: Plan, returned: Returned): string[] {
  const lines = [`This is the mail system at ${plan.host}.`, ''];
  if (plan.kind === 'failure') {
    lines.push('Your message could not be delivered to one or more recipients.', 'The mail system has given up; the reason for each is below.');
  } else if (plan.kind === 'delay') {
    const until = latest(input.recipients.map((r) => r.willRetryUntil));
    lines.push('THIS IS A WARNING ONLY. YOU DO NOT NEED TO SEND YOUR MESSAGE AGAIN.', '');
    lines.push('Your message has not been delivered yet to one or more recipients.');
    lines.push(until ? `The mail system will keep trying until ${rfc5322Date(until, 'utc')}.` : 'The mail system will keep trying.');
  } else {
    lines.push('Your message was delivered to the recipients below.');
  }
  lines.push('');
  for (const recipient of input.recipients) lines.push(...wrapText(recipientLine(recipient), 76, '    '), '');
  if (returned.mode === 'full') lines.push('A copy of your message is attached.');
  else if (returned.tooLarge) lines.push(...wrapText(`Your message is larger than ${sizeForPeople(plan.maxReturnBytes)}, so only its headers are attached.`, 76, ''));
  else lines.push('The headers of your message are attached.');
  if (plan.kind !== 'success') lines.push('', `If you need help, forward this report to the postmaster of ${plan.host}.`);
  return lines;
}

function recipientLine(recipient: DsnRecipient): string {
  const who = `<${envelopeAddress(recipient.address)}>:`;
  const answer = recipient.diagnostic ? replyLine(recipient.diagnostic).replace(/^(smtp|x-[A-Za-z0-9-]+)\s*;\s*/i, '') : '';
  const remote = recipient.remoteMta ? hostName(recipient.remoteMta) : '';
  const status = statusCode(recipient.status, recipient.action);
  if (remote && answer) return `${who} host ${remote} said: ${answer}`;
  if (answer) return `${who} ${answer}`;
  if (recipient.action === 'delivered') return `${who} delivered${remote ? ` to ${remote}` : ''}`;
  return `${who} ${recipient.action === 'failed' ? 'delivery failed' : 'delivery delayed'} (status ${status})`;
}

function latest(dates: (Date | undefined)[]): Date | undefined {
  return dates.reduce<Date | undefined>((max, date) => (date && (!max || date > max) ? date : max), undefined);
}

function sizeForPeople(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}
