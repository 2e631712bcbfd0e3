// The one place where our code answers smtp-server's hooks (maddy's exterrors, in small): an SmtpReply
// is passed on as it is; a client that went away is noted quietly; anything else is a fault of ours,
// logged with its stack and answered with a temporary reply, so good mail is never refused for good
// and no internal text reaches the wire (DESIGN.md principle 7).
import type { Logger } from 'pino';
import { SmtpReply, replies } from './replies.js';

/** The client closed the connection before the message was received in full. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection during DATA');
    this.name = 'ClientGone';
  }
}

type Callback<T> = (err: Error | null | undefined, value?: T) => void;

/** Where the boundary writes: faults of ours to `log` with their stack, client behaviour through `note`. */
export interface HookLog {
  readonly log: Logger;
  note(kind: 'gone', fields: object, message: string): void;
}

/**
 * Settles a hook's `callback` with the outcome of `work`. `fault` is the reply for an unexpected error
 * (451 4.3.0 for the mail transaction, 454 4.7.0 for AUTH); `what` names the step in the log line.
 */
export function answer<T>(work: () => Promise<T>, callback: Callback<T>, log: HookLog, what: string, fault: () => SmtpReply = replies.localFault): void {
  let running: Promise<T>;
  try {
    running = work();
  } catch (err) {
    running = Promise.reject(err);
  }
  running.then(
    (value) => callback(null, value),
    (err: unknown) => callback(asReply(err, log, what, fault)),
  );
}

/** What the client is told of `err`. */
export function asReply(err: unknown, log: HookLog, what: string, fault: () => SmtpReply = replies.localFault): Error {
  if (err instanceof SmtpReply) return err;
  if (err instanceof ClientGone) {
    log.note('gone', {}, `${what}: ${err.message}; nothing kept`);
    return err;
  }
  log.log.error({ err }, `${what} failed`);
  return fault();
}
