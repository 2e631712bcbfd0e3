// Total deadlines for each stage of an outbound SMTP session. nodemailer times only idleness (its socket
// timeout starts again with every byte), so a server that trickles its greeting or a reply a byte a second
// would hold the attempt, and a delivery slot, for as long as it liked. This clock follows the
// conversation through nodemailer's transaction log (each command written, each whole reply read, the end
// of the message body) and gives every wait a deadline of its own, as RFC 5321 4.5.3.2 asks of a client:
//   the greeting                         greetingTimeoutMs       (4.5.3.2.1: 5 minutes)
//   each command's whole reply           replyTimeoutMs          (4.5.3.2.2-4: MAIL, RCPT 5 min, DATA 2)
//   the TLS handshake after STARTTLS     replyTimeoutMs
//   the message body                     replyTimeoutMs + size / minDataRate   (4.5.3.2.5: 3 min a block)
//   the reply after the final dot        finalReplyTimeoutMs     (4.5.3.2.6: 10 minutes)
// With PIPELINING (RFC 2920) several replies are owed at once; each one's time starts when the reply
// before it is in, so a batch cannot be stretched by answering each command just before its deadline.
import type { ExternalLogger } from 'nodemailer/lib/shared';

export interface StageDeadlines {
  greetingTimeoutMs: number;
  replyTimeoutMs: number;
  /** Bytes per second. */
  minDataRate: number;
  finalReplyTimeoutMs: number;
}

/** The wait that ran out, for the failure's text. */
export interface Expiry {
  /** "waiting for the reply to RCPT", "sending the message", ... */
  doing: string;
  allowedMs: number;
  /** A TLS handshake that did not finish: a TLS failure (the MX is then tried in clear). */
  handshake: boolean;
}

// What the session can be waiting for besides the reply to a command (named by its verb).
const GREETING = 'greeting';
const HANDSHAKE = 'handshake';
const BODY = 'body';
const END_OF_DATA = '.';
const VERBS = new Set(['EHLO', 'HELO', 'LHLO', 'STARTTLS', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'RSET', 'NOOP', 'QUIT']);

export class ConversationClock {
  /** What the session waits for, oldest first; only the first is timed. */
  private readonly owed: string[];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Bytes of the message being sent, for the body's deadline. */
  messageSize = 0;

  /**
   * For nodemailer's `logger` with `transactionLog`: the lines tell the clock where the conversation
   * stands and are not kept anywhere (they include an AUTH LOGIN user name).
   */
  readonly transcript: ExternalLogger = {
    // Every level is given, so that nodemailer does not route its warnings and errors to `info`.
    trace: () => {},
    warn: () => {},
    error: () => {},
    fatal: () => {},
    debug: (entry: { tnx?: string } | undefined, line?: unknown) => {
      if (entry?.tnx === 'client') this.commandSent(String(line ?? ''));
      else if (entry?.tnx === 'server') this.replyReceived(String(line ?? ''));
    },
    info: (entry: { tnx?: string } | undefined, format?: unknown) => {
      // '%s established to %s:%s': the implicit-TLS handshake is done; the greeting is next.
      if (entry?.tnx === 'network' && String(format).includes('established')) this.handshakeDone();
      // The body has gone into the socket, the final dot with it.
      else if (entry?.tnx === 'message') this.bodySent();
    },
  };

  constructor(
    private readonly deadlines: StageDeadlines,
    private readonly expired: (expiry: Expiry) => void,
    implicitTls: boolean,
  ) {
    this.owed = [implicitTls ? HANDSHAKE : GREETING];
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private commandSent(line: string): void {
    const verb = line === END_OF_DATA ? END_OF_DATA : line.split(' ', 1)[0]?.toUpperCase() ?? '';
    // A handshake or a body is over once a command follows it (nodemailer ends an empty message
    // with a lone dot as a command).
    if (this.owed[0] === HANDSHAKE || this.owed[0] === BODY) this.owed.shift();
    // Anything else is the next line of a SASL exchange (RFC 4954 4): a base64 answer to a 334.
    this.owed.push(VERBS.has(verb) || verb === END_OF_DATA ? verb : 'AUTH');
    if (this.owed.length === 1) this.arm();
  }

  private replyReceived(reply: string): void {
    const answered = this.owed.shift();
    if (answered === undefined) return;
    // RFC 3207 4: after 220 to STARTTLS the handshake starts; RFC 5321 4.1.1.4: after 354 the body.
    if (answered === 'STARTTLS' && reply.startsWith('2')) this.owed.unshift(HANDSHAKE);
    // Some servers say 250 instead of 354; nodemailer sends the body after either.
    if (answered === 'DATA' && /^[23]/.test(reply)) this.owed.unshift(BODY);
    // Whatever comes next has its whole allowance from now.
    this.arm();
  }

  private handshakeDone(): void {
    if (this.owed[0] !== HANDSHAKE) return;
    this.owed[0] = GREETING;
    this.arm();
  }

  private bodySent(): void {
    if (this.owed[0] !== BODY) return;
    this.owed[0] = END_OF_DATA;
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = this.owed[0];
    if (this.stopped || waiting === undefined) return;
    const allowedMs = this.allowance(waiting);
    this.timer = setTimeout(() => {
      this.stop();
      this.expired({ doing: describeWait(waiting), allowedMs, handshake: waiting === HANDSHAKE });
    }, allowedMs);
    // A session that only waits for the answer to QUIT must not keep the process running.
    this.timer.unref();
  }

  private allowance(waiting: string): number {
    const { greetingTimeoutMs, replyTimeoutMs, minDataRate, finalReplyTimeoutMs } = this.deadlines;
    if (waiting === GREETING) return greetingTimeoutMs;
    if (waiting === END_OF_DATA) return finalReplyTimeoutMs;
    if (waiting === BODY) return replyTimeoutMs + Math.ceil((this.messageSize * 1000) / minDataRate);
    return replyTimeoutMs;
  }
}

function describeWait(waiting: string): string {
  switch (waiting) {
    case GREETING:
      return 'waiting for the greeting';
    case HANDSHAKE:
      return 'waiting for the TLS handshake';
    case BODY:
      return 'sending the message';
    case END_OF_DATA:
      return 'waiting for the reply to the end of the message';
    default:
      return `waiting for the reply to ${waiting}`;
  }
}
