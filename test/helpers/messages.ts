// The messages tests send, submit or queue: text in CRLF lines, ready for DATA or nodemailer's `raw`,
// or an OutboundMessage as the queue hands one to the delivery agent.
import { Readable } from 'node:stream';
import type { OutboundMessage } from '../../src/core/interfaces.js';
import type { RecipientDsn } from '../../src/core/types.js';
import { ALICE, DOMAIN } from './addresses.js';

const DATE = 'Thu, 26 Nov 2026 10:00:00 +0000';

/** A message with every header a submission server would otherwise add but Received; Subject names it. */
export function compose(options: { from?: string; to: string[]; subject: string; body?: string }): string {
  const from = options.from ?? ALICE;
  const id = options.subject.replace(/[^A-Za-z0-9.-]/g, '-');
  return [
    `From: Alice <${from}>`,
    `To: ${options.to.map((r) => `<${r}>`).join(', ')}`,
    `Subject: ${options.subject}`,
    `Message-ID: <${id}.${process.pid}@${DOMAIN}>`,
    `Date: ${DATE}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `Hello, this is ${options.subject}.`,
    ...(options.body ? [options.body] : []),
    '',
  ].join('\r\n');
}

/** A message of about `bytes` bytes, in CRLF lines of 76 characters, ready for DATA. */
export function bigMessage(from: string, to: string, bytes: number): string {
  const line = `${'x'.repeat(76)}\r\n`;
  const header = `From: <${from}>\r\nTo: <${to}>\r\nSubject: big\r\n\r\n`;
  return header + line.repeat(Math.ceil(bytes / line.length));
}

/**
 * A message of about `size` bytes whose Subject is `token` and whose body is made of it, so that a
 * damaged byte shows in its digest and the token finds it again wherever it went.
 */
export function tokenMessage(token: string, options: { from: string; to: string[]; size: number }): string {
  const head = [
    `From: <${options.from}>`,
    `To: ${options.to.map((r) => `<${r}>`).join(', ')}`,
    `Subject: ${token}`,
    `Message-ID: <${token}@${DOMAIN}>`,
    `Date: ${DATE}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    '',
  ].join('\r\n');
  const line = `${`${token} `.repeat(8).slice(0, 76)}\r\n`;
  return head + line.repeat(Math.max(1, Math.ceil((options.size - head.length) / line.length)));
}

/** The envelope of a message the queue holds or hands over. */
export interface EnvelopeOptions {
  /** Envelope sender; '' is `<>`. Default alice. */
  sender?: string;
  recipients: (string | { address: string; dsn?: RecipientDsn })[];
  subject?: string;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
}

/** A short message for an envelope; `name` is in its Message-ID, its body and (by default) its Subject. */
export function envelopeMessage(options: EnvelopeOptions, name: string): { sender: string; recipients: { address: string; dsn?: RecipientDsn }[]; bytes: Buffer } {
  const sender = options.sender ?? ALICE;
  const recipients = options.recipients.map((r) => (typeof r === 'string' ? { address: r } : r));
  const text = [
    `From: <${sender || `mailer-daemon@${DOMAIN}`}>`,
    `To: ${recipients.map((r) => `<${r.address}>`).join(', ')}`,
    `Subject: ${options.subject ?? `test ${name}`}`,
    `Message-ID: <${name}.${process.pid}@${DOMAIN}>`,
    `Date: ${DATE}`,
    '',
    `Body of ${name}.`,
    '',
  ].join('\r\n');
  return { sender, recipients, bytes: Buffer.from(text) };
}

let serial = 0;

/** An outbound message as the queue hands it to the delivery agent, with a queue id of its own. */
export function outbound(options: EnvelopeOptions): OutboundMessage & { bytes: Buffer } {
  const queueId = `q${++serial}`;
  const { sender, recipients, bytes } = envelopeMessage(options, queueId);
  return {
    queueId,
    sender,
    recipients,
    size: bytes.length,
    ...(options.ret ? { ret: options.ret } : {}),
    ...(options.envid ? { envid: options.envid } : {}),
    open: () => Readable.from([bytes]),
    bytes,
  };
}
