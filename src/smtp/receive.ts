// DATA: streams the message into the store with the trace headers added, then commits it to the
// local mailboxes and/or the outbound queue in one durable batch, and only then answers 250.
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { randomBytes } from 'node:crypto';
import type { Directory, MailIntake, MailStore, NewMessage } from '../core/interfaces.js';
import { checkAuthors } from './authors.js';
import type { EventBus } from '../core/events.js';
import { headerValues, rfc5322Date } from '../core/rfc5322.js';
import { HeaderEditor } from './headers.js';
import { ClientGone } from './boundary.js';
import { replies, reply, SmtpReply } from './replies.js';
import { withoutTooSmallMailboxes } from './quota.js';
import { reserveReached } from './storage.js';
import type { SessionState } from './session.js';

export interface ReceiveContext {
  store: MailStore;
  intake: MailIntake;
  directory: Directory;
  bus: EventBus;
  hostname: string;
  maxMessageSize: number;
  /** Asks the runtime to collect short-lived garbage (see SmtpDeps.reclaimMemory). */
  reclaimMemory?: () => void;
  port: number;
}

// Every MiB received: a cheap young-generation collection (every socket read is a fresh buffer and
// smtp-server copies it once more; V8 frees them only after tens of MB have piled up, too much on a
// 512 MB Pi), and a look at the free disk space (storage.ts).
const CHECK_EVERY = 1024 * 1024;
const RATE_CHECK_MS = 5_000;
/** Received: headers a message may already carry; ours would be one more. Postfix's hopcount_limit. */
const MAX_HOPS = 50;

export async function receiveMessage(stream: SMTPServerDataStream, session: SMTPServerSession, state: SessionState, ctx: ReceiveContext): Promise<string> {
  const writer = await ctx.store.createMessage();
  const editor = new HeaderEditor({
    prepend: [receivedHeader(session, ctx.hostname, writer.messageId)],
    addIfMissing: state.listener === 'mx' ? [] : [
      { name: 'Message-ID', value: () => `<${writer.messageId}.${randomBytes(4).toString('hex')}@${ctx.hostname}>` },
      { name: 'Date', value: () => rfc5322Date() },
    ],
    examine: true,
  });
  // smtp-server destroys the stream when the client goes away mid-message (with an ECONNECTION error
  // when someone listens, as here); pass that on as what it is.
  stream.once('error', (err: NodeJS.ErrnoException) => editor.destroy(err.code === 'ECONNECTION' ? new ClientGone() : err));
  stream.once('close', () => {
    if (!stream.readableEnded) editor.destroy(new ClientGone());
  });
  watchRate(stream, state);
  let failure: unknown;
  try {
    let sinceReclaim = 0;
    for await (const chunk of stream.pipe(editor)) {
      sinceReclaim += (chunk as Buffer).length;
      if (sinceReclaim >= CHECK_EVERY) {
        sinceReclaim = 0;
        ctx.reclaimMemory?.();
        if (failure === undefined && (await reserveReached(ctx.store))) {
          failure = replies.insufficientStorage();
          state.log.warn({ msgid: writer.messageId, received: writer.size }, 'stopped storing a message: the disk is nearly full');
          await writer.abort();
        }
      }
      // Past the limit or after a store error, keep reading (the client is still sending) but keep nothing.
      if (failure !== undefined || stream.sizeExceeded) continue;
      try {
        await writer.write(chunk as Buffer);
      } catch (err) {
        failure = err;
      }
    }
    if (stream.sizeExceeded) throw replies.tooBig(ctx.maxMessageSize);
    if (failure !== undefined) throw failure;
    checkHops(editor);
    if (state.user) await checkSubmittedAuthors(editor, state.user, ctx.directory);
    const message = withoutTooSmallMailboxes(newMessage(session, state), writer.size, state.quotas, state.log);
    if (message instanceof SmtpReply) throw message;
    const result = await ctx.intake.commit(writer, message);
    const local = [...new Set(message.recipients.flatMap((r) => r.route.local))];
    const remote = [...new Set(message.recipients.flatMap((r) => r.route.remote))];
    state.log.info({ msgid: result.messageId, queueId: result.queueId, size: result.size, from: senderOf(session), local, remote }, 'message accepted');
    ctx.bus.emit('message.received', { messageId: result.messageId, sender: senderOf(session), local, remote, size: result.size, port: ctx.port });
    return `Ok: queued as ${result.messageId}`;
  } catch (err) {
    // Whatever went wrong, nothing of this message stays; the boundary (boundary.ts) says what to answer.
    await writer.abort().catch((abortErr: unknown) => state.log.error({ err: abortErr, msgid: writer.messageId }, 'could not discard a failed message'));
    throw err;
  }
}

/**
 * RFC 5321 6.3: a message that has passed through too many hosts is in a loop (an alias forwarding to
 * a remote address that sends everything back, say). Counting Received: headers, as Postfix's
 * hopcount_limit does, stops it here instead of letting it circle and grow.
 */
function checkHops(editor: HeaderEditor): void {
  if (editor.headerBlock === undefined) throw reply(552, '5.6.0', 'Message header too long');
  const hops = headerValues(editor.headerBlock, 'Received').length;
  if (hops >= MAX_HOPS) throw reply(554, '5.4.6', `Too many hops (${hops} Received: headers): a mail loop?`);
}

/** Submission: the From: and Sender: headers must name the user's own addresses (authors.ts). */
async function checkSubmittedAuthors(editor: HeaderEditor, user: string, directory: Directory): Promise<void> {
  // A header block too long to have been looked at cannot be vouched for.
  if (editor.headerBlock === undefined) throw reply(552, '5.6.0', 'Message header too long to check');
  const refusal = await checkAuthors(directory, user, editor.headerBlock);
  if (refusal) throw refusal;
}

/**
 * Counts the body's bytes as they arrive, before anything holds them, and ends a trickle or a stall
 * (deadlines.ts): on each chunk, and every few seconds in case none comes (smtp-server's idle timeout
 * does not run while our DATA hook is reading).
 */
function watchRate(stream: SMTPServerDataStream, state: SessionState): void {
  const clock = state.clock;
  if (!clock) return;
  const startedAt = Date.now();
  let received = 0;
  const check = () => {
    if (!clock.dataTooSlow(startedAt, received)) return;
    stop();
    state.note('deadline', { received }, 'DATA too slow; closing the connection');
    clock.endSlowData();
  };
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    check();
  };
  const timer = setInterval(check, RATE_CHECK_MS);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    stream.off('data', onData);
  };
  stream.on('data', onData);
  stream.once('end', stop);
  stream.once('close', stop);
}

function senderOf(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}

/** The transaction's envelope, each recipient with the route RCPT TO found for it. */
function newMessage(session: SMTPServerSession, state: SessionState): NewMessage {
  const recipients = session.envelope.rcptTo.flatMap((rcpt) => {
    const route = state.routes.get(rcpt.address);
    if (!route) return [];
    const { notify, orcpt } = rcpt.dsn ?? {};
    return [{ address: rcpt.address, route, ...(notify || orcpt ? { dsn: { ...(notify ? { notify } : {}), ...(orcpt ? { orcpt } : {}) } } : {}) }];
  });
  const dsn = session.envelope.dsn;
  return {
    sender: senderOf(session),
    recipients,
    ...(dsn?.ret === 'FULL' || dsn?.ret === 'HDRS' ? { ret: dsn.ret } : {}),
    ...(dsn?.envid ? { envid: dsn.envid } : {}),
  };
}

/** RFC 5321 4.4 trace line; `for` only when there is exactly one recipient (it would leak the others). */
function receivedHeader(session: SMTPServerSession, hostname: string, id: string): string {
  const helo = session.hostNameAppearsAs || 'unknown';
  const reverse = session.clientHostname && !session.clientHostname.startsWith('[') ? `${session.clientHostname} ` : '';
  const rcpts = session.envelope.rcptTo;
  const forClause = rcpts.length === 1 && rcpts[0] ? `\r\n\tfor <${rcpts[0].address}>` : '';
  const tls = session.tlsOptions ? ` (${session.tlsOptions.version} ${session.tlsOptions.name})` : '';
  return `Received: from ${sanitize(helo)} (${reverse}[${session.remoteAddress}])\r\n\tby ${hostname} (Letterbox) with ${session.transmissionType}${tls}\r\n\tid ${id}${forClause};\r\n\t${rfc5322Date()}\r\n`;
}

function sanitize(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, '?').slice(0, 255);
}
