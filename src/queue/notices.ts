// Sending DSNs (bounces and delay warnings) for queue entries. A DSN goes from `<>` to the envelope
// sender: into their INBOX when they are local, else into the queue as a new entry. Never one for a
// message whose sender is `<>` (RFC 5321 4.5.5: that is how bounce loops are avoided).
import type { Logger } from 'pino';
import type { MailIntake, MailStore, QueueStore } from '../core/interfaces.js';
import type { QueueEntry, QueueRecipient } from '../core/types.js';
import { buildDsn, dsnWanted, shouldBounce } from './dsn.js';

export interface NoticeDeps {
  queue: QueueStore;
  mail: MailStore;
  /** The DSN goes in through the same door as any new mail. */
  intake: MailIntake;
  log: Logger;
  hostname: string;
}

export type NoticeKind = 'failure' | 'delay';

/** A DSN that was written. */
export interface NoticeSent {
  /** The DSN's stored message. */
  messageId: string;
  /** Its outbound queue entry, when it went into the queue (a remote sender, or a local one who forwards). */
  queueId?: string;
}

/**
 * Saves `entry` as it now stands, together with a DSN about `recipients` when one is due, in one
 * durable batch. Returns the DSN, or null when none was sent.
 */
export async function settleWithNotice(
  deps: NoticeDeps,
  entry: QueueEntry,
  kind: NoticeKind,
  recipients: QueueRecipient[],
  now: number,
  retryUntil?: number,
): Promise<NoticeSent | null> {
  const wanted = recipients.filter((r) => dsnWanted(r.dsn?.notify, kind));
  const log = deps.log.child({ queueId: entry.id, msgid: entry.messageId });
  const bounceable = shouldBounce(entry.sender);
  if (wanted.length === 0 || !bounceable) {
    if (!bounceable && kind === 'failure' && recipients.length > 0) {
      log.warn({ recipients: recipients.map((r) => r.address) }, 'undeliverable message from <>: dropped without a DSN');
    }
    await deps.queue.settleQueueEntry(copyOf(entry));
    return null;
  }
  const route = await deps.intake.route(entry.sender);
  if (!route || (route.local.length === 0 && route.remote.length === 0)) {
    log.warn({ sender: entry.sender }, 'the sender is in a local domain but has no mailbox; DSN dropped');
    await deps.queue.settleQueueEntry(copyOf(entry));
    return null;
  }
  const writer = await deps.mail.createMessage();
  try {
    const dsn = buildDsn({
      kind,
      reportingMta: deps.hostname,
      sender: entry.sender,
      ...(entry.envid ? { envid: entry.envid } : {}),
      arrivalDate: new Date(entry.createdAt),
      ret: entry.ret ?? 'HDRS',
      originalSize: entry.size,
      queueId: entry.id,
      now: new Date(now),
      recipients: wanted.map((r) => ({
        address: r.address,
        ...(r.dsn?.orcpt ? { orcpt: r.dsn.orcpt } : {}),
        action: kind === 'failure' ? ('failed' as const) : ('delayed' as const),
        status: statusOf(r, kind),
        ...(r.remoteMta ? { remoteMta: r.remoteMta } : {}),
        ...(r.lastError ? { diagnostic: r.lastError } : {}),
        lastAttempt: new Date(r.updatedAt),
        ...(kind === 'delay' && retryUntil ? { willRetryUntil: new Date(retryUntil) } : {}),
      })),
      original: () => deps.mail.openMessage(entry.messageId),
    });
    for await (const chunk of dsn) await writer.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    const notice = { sender: '', recipients: [{ address: entry.sender, route }], receivedAt: now };
    const committed = await deps.intake.commit(writer, notice, copyOf(entry));
    log.info({ kind, to: entry.sender, recipients: wanted.map((r) => r.address), dsn: writer.messageId }, kind === 'failure' ? 'bounce sent' : 'delay warning sent');
    return { messageId: writer.messageId, ...(committed.queueId ? { queueId: committed.queueId } : {}) };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/**
 * RFC 3463 status for the DSN: the code the answer came with (an entry queued before `status` was
 * kept has it only inside its text).
 */
function statusOf(recipient: QueueRecipient, kind: NoticeKind): string {
  const code = recipient.status ?? /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(recipient.lastError ?? '')?.[0];
  if (code) return kind === 'delay' ? code.replace(/^\d/, '4') : code;
  return kind === 'failure' ? '5.0.0' : '4.0.0';
}

/** The queue entry as it is at this moment; later changes to the live copy must not leak into the batch. */
function copyOf(entry: QueueEntry): QueueEntry {
  return structuredClone(entry);
}
