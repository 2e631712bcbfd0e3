// Sends messages one after another over an open session, recording an outcome for every recipient.
// One session carries every message for the destination; a transaction carries the recipients of one
// message that share their DSN parameters (nodemailer puts one NOTIFY/ORCPT on every RCPT of a
// transaction, so recipients that asked for different ones need a transaction each).
import type { Logger } from 'pino';
import type { DeliveryOutcome } from '../core/types.js';
import { outcomeOfReason, outcomeOfReply, type Consignment, type DeliveryPath, type Recipient, type RecipientLedger } from './outcomes.js';
import { SessionFailure, type SmtpSession, type TransactionEnvelope } from './session.js';

const NOTIFY_VALUES = new Set(['NEVER', 'SUCCESS', 'FAILURE', 'DELAY']);

/** RFC 3461 4.1: NEVER stands alone; anything else is a list of the three conditions. */
function notifyOf(recipient: Recipient): string[] | undefined {
  const values = (recipient.dsn?.notify ?? []).map((v) => v.trim().toUpperCase()).filter((v) => NOTIFY_VALUES.has(v));
  if (values.length === 0) return undefined;
  return values.includes('NEVER') ? ['NEVER'] : [...new Set(values)].sort();
}

interface Transaction {
  recipients: Recipient[];
  envelope: TransactionEnvelope;
}

function transactionsOf({ message, recipients }: Consignment): Transaction[] {
  const groups = new Map<string, Recipient[]>();
  for (const recipient of recipients) {
    const key = JSON.stringify([notifyOf(recipient) ?? [], recipient.dsn?.orcpt ?? '']);
    groups.set(key, [...(groups.get(key) ?? []), recipient]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Recipient;
    const notify = notifyOf(first);
    const dsn = {
      ...(message.ret ? { ret: message.ret } : {}),
      ...(message.envid ? { envid: message.envid } : {}),
      ...(notify ? { notify } : {}),
      ...(first.dsn?.orcpt ? { orcpt: first.dsn.orcpt } : {}),
    };
    const envelope: TransactionEnvelope = {
      sender: message.sender,
      recipients: group.map((r) => r.address),
      size: message.size,
      ...(Object.keys(dsn).length > 0 ? { dsn } : {}),
    };
    return { recipients: group, envelope };
  });
}

/**
 * RFC 3463: X.4.2 "bad connection" for a session that broke or ran past a deadline, X.3.0 for our own
 * trouble reading the queue or an attempt called off.
 */
function lostOutcome(failure: SessionFailure, via: DeliveryPath, remoteMta: string): (address: string) => DeliveryOutcome {
  const code = failure.stage === 'local' || failure.stage === 'aborted' ? '4.3.0' : '4.4.2';
  return (address) => outcomeOfReason(address, 'deferred', code, failure.message, via, remoteMta);
}

export interface TransferResult {
  /** Set when the session broke; every recipient it had not answered for is deferred with this reason. */
  lost?: SessionFailure;
}

export async function transferOver(
  session: SmtpSession,
  consignments: readonly Consignment[],
  ledger: RecipientLedger,
  via: DeliveryPath,
  log: Logger,
): Promise<TransferResult> {
  const remoteMta = session.peer.name;
  const queue = consignments.flatMap((consignment) =>
    transactionsOf(consignment).map((transaction) => ({ message: consignment.message, ...transaction })),
  );
  for (let i = 0; i < queue.length; i++) {
    const { message, recipients, envelope } = queue[i] as (typeof queue)[number];
    const unanswered = queue.slice(i).map((t) => ({ message: t.message, recipients: t.recipients }));
    if (!session.usable) {
      const failure = new SessionFailure('lost', `${remoteMta} closed the connection`);
      ledger.recordAll(unanswered, lostOutcome(failure, via, remoteMta));
      return { lost: failure };
    }
    try {
      const answer = await session.transact(envelope, message.open());
      for (const recipient of recipients) {
        const reply = answer.replies.get(recipient.address) ?? '';
        ledger.record(message, outcomeOfReply(recipient.address, reply, remoteMta, via));
      }
      log.debug({ queueId: message.queueId, mta: remoteMta, via, recipients: recipients.length }, 'transaction answered');
      // The queue writes the acceptances down before this connection carries the next message.
      await ledger.deliveriesRecorded();
    } catch (err) {
      if (!(err instanceof SessionFailure)) throw err;
      // Whatever was not answered yet is deferred here; the caller may try it at the next address.
      ledger.recordAll(unanswered, lostOutcome(err, via, remoteMta));
      return { lost: err };
    }
  }
  return {};
}
