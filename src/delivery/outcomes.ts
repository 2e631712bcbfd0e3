// What became of each recipient of a delivery call, and how an SMTP reply or a local reason turns into a
// DeliveryOutcome. One ledger per `deliver()` call: the direct attempt writes into it, the smarthost then
// takes whatever is still unsettled, and the last path to answer for a recipient has the final word.
import type { OutboundMessage } from '../core/interfaces.js';
import type { DeliveryOutcome } from '../core/types.js';

export type Recipient = OutboundMessage['recipients'][number];
export type DeliveryPath = DeliveryOutcome['via'];

/** A message with the recipients that one attempt is about. */
export interface Consignment {
  message: OutboundMessage;
  recipients: Recipient[];
}

// RFC 3463 2: class "." subject "." detail, right after the basic code (RFC 2034 4).
const ENHANCED_CODE = /^\d{3}[ -]([245])\.(\d{1,3})\.(\d{1,3})(?=[\s]|$)/;

/**
 * How much of a remote server's text is kept per recipient: in memory, in the queue entry, in log lines
 * and in DSNs. A hostile server may answer with up to a megabyte (nodemailer's cap); kept whole, one
 * message to 100 recipients held 100 MB per attempt. The codes are kept whole, in front.
 */
export const MAX_REMOTE_TEXT = 300;
/** Looked at no further than this: cutting a megabyte down should not cost a megabyte of work. */
const MAX_REMOTE_SCAN = 4096;

/** Text from a remote server (or quoting one) cut to MAX_REMOTE_TEXT characters, on one line. */
export function capRemoteText(text: string): string {
  const line = text.slice(0, MAX_REMOTE_SCAN).replace(/\s+/g, ' ').trim();
  return line.length > MAX_REMOTE_TEXT ? `${line.slice(0, MAX_REMOTE_TEXT)} [...]` : line;
}

/**
 * A reply as kept: a multi-line reply (RFC 5321 4.2.1) on one line with the code and the enhanced code
 * once, in front (`550-5.1.1 a` / `550 5.1.1 b` becomes `550 5.1.1 a b`), then capped. The continuation
 * prefixes (`550-`, and the enhanced code repeated on each line as RFC 2034 4 asks) are dropped; when
 * only a later line has an enhanced code, it moves to the front.
 */
export function joinReply(reply: string): string {
  const lines = reply.slice(0, MAX_REMOTE_SCAN).split(/\r?\n|\r/).map((line) => line.trim()).filter(Boolean);
  const prefix = /^(\d{3})(?:[ -]|$)\s*(?:([245]\.\d{1,3}\.\d{1,3})(?=\s|$))?\s*/;
  const first = prefix.exec(lines[0] ?? '');
  if (!first) return capRemoteText(lines.join(' '));
  const basic = first[1] as string;
  let enhanced = first[2];
  const texts = lines.map((line) => {
    const match = prefix.exec(line);
    // RFC 5321 4.2.1: every line carries the same code; a line without one is kept as it is.
    if (!match || match[1] !== basic) return line;
    if (match[2] && match[2][0] === basic[0]) enhanced ??= match[2];
    return line.slice(match[0].length);
  });
  return capRemoteText([basic, enhanced, ...texts].filter(Boolean).join(' '));
}

/** The text of an attempt that was called off (`queue delete`, a shutdown), with the caller's reason. */
export function abortedText(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (typeof reason === 'string' && reason) return `delivery attempt aborted: ${reason}`;
  if (reason instanceof Error && reason.name !== 'AbortError' && reason.message) return `delivery attempt aborted: ${reason.message}`;
  return 'delivery attempt aborted';
}

function statusOfClass(digit: string | undefined): DeliveryOutcome['status'] {
  if (digit === '2') return 'delivered';
  if (digit === '5') return 'bounced';
  // 4xx, and anything that is not a final answer at all (a 3xx where none belongs, garbage), is
  // something to try again later rather than a verdict.
  return 'deferred';
}

/** The outcome an SMTP reply means for one recipient (RFC 5321 4.2.1: 2yz done, 4yz later, 5yz never). */
export function outcomeOfReply(address: string, reply: string, remoteMta: string, via: DeliveryPath): DeliveryOutcome {
  const text = joinReply(reply);
  const basic = /^([2-5])\d\d(?:[ -]|$)/.exec(text)?.[1];
  const status = statusOfClass(basic);
  const cls = status === 'delivered' ? '2' : status === 'bounced' ? '5' : '4';
  const enhanced = ENHANCED_CODE.exec(text);
  // A server that pairs a 4yz with a 5.x.x code contradicts itself; the basic code decides (RFC 3463 2).
  const enhancedCode = enhanced ? `${cls}.${enhanced[2]}.${enhanced[3]}` : `${cls}.0.0`;
  return { address, status, reply: text, enhancedCode, remoteMta, via };
}

/** An outcome for a reason of our own (DNS, connection, policy), not a reply of the far side. */
export function outcomeOfReason(
  address: string,
  status: DeliveryOutcome['status'],
  enhancedCode: string,
  reason: string,
  via: DeliveryPath,
  remoteMta?: string,
): DeliveryOutcome {
  return { address, status, reply: capRemoteText(reason), enhancedCode, via, ...(remoteMta ? { remoteMta } : {}) };
}

/** Every recipient of one `deliver()` call with the latest answer about it. */
export class RecipientLedger {
  private readonly answers = new Map<string, Map<string, DeliveryOutcome | undefined>>();
  private readonly recording: Promise<void>[] = [];

  constructor(
    private readonly messages: readonly OutboundMessage[],
    private readonly onDelivered?: (queueId: string, outcome: DeliveryOutcome) => Promise<void>,
  ) {
    for (const message of messages) {
      const byAddress = new Map<string, DeliveryOutcome | undefined>();
      for (const recipient of message.recipients) byAddress.set(recipient.address, undefined);
      this.answers.set(message.queueId, byAddress);
    }
  }

  record(message: OutboundMessage, outcome: DeliveryOutcome): void {
    const answers = this.answers.get(message.queueId);
    if (!answers) return;
    const before = answers.get(outcome.address);
    answers.set(outcome.address, outcome);
    if (outcome.status === 'delivered' && before?.status !== 'delivered' && this.onDelivered) {
      this.recording.push(this.onDelivered(message.queueId, outcome));
    }
  }

  /** Waits until the deliveries recorded so far are written down by the queue (their failure is its business). */
  async deliveriesRecorded(): Promise<void> {
    const waiting = this.recording.splice(0);
    await Promise.allSettled(waiting);
  }

  recordAll(consignments: readonly Consignment[], outcomeFor: (address: string) => DeliveryOutcome): void {
    for (const { message, recipients } of consignments) {
      for (const recipient of recipients) this.record(message, outcomeFor(recipient.address));
    }
  }

  /** Like recordAll, but keeps an answer a recipient already has (a real 4xx says more than "refused"). */
  recordFirst(consignments: readonly Consignment[], outcomeFor: (address: string) => DeliveryOutcome): void {
    for (const { message, recipients } of consignments) {
      for (const recipient of recipients) {
        if (!this.outcomeOf(message, recipient.address)) this.record(message, outcomeFor(recipient.address));
      }
    }
  }

  outcomeOf(message: OutboundMessage, address: string): DeliveryOutcome | undefined {
    return this.answers.get(message.queueId)?.get(address);
  }

  /** Recipients with no final answer yet: not tried, or deferred. */
  unsettled(): Consignment[] {
    const open: Consignment[] = [];
    for (const message of this.messages) {
      const recipients = message.recipients.filter((r) => {
        const outcome = this.outcomeOf(message, r.address);
        return !outcome || outcome.status === 'deferred';
      });
      if (recipients.length > 0) open.push({ message, recipients });
    }
    return open;
  }

  /** The answer for the DeliveryAgent contract; a recipient nobody answered for gets `unanswered`. */
  result(unanswered: (address: string) => DeliveryOutcome): Map<string, DeliveryOutcome[]> {
    const result = new Map<string, DeliveryOutcome[]>();
    for (const message of this.messages) {
      result.set(
        message.queueId,
        message.recipients.map((r) => this.outcomeOf(message, r.address) ?? unanswered(r.address)),
      );
    }
    return result;
  }
}
