// SMTP replies with their enhanced status codes (RFC 3463), in one place so every port answers alike.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection';

export interface SmtpReplyError extends Error {
  responseCode: number;
}

export function reply(code: number, enhanced: string, text: string): SmtpReplyError {
  const err = new Error(`${enhanced} ${text}`) as SmtpReplyError;
  err.responseCode = code;
  return err;
}

export const replies = {
  userUnknown: (rcpt: string) => reply(550, '5.1.1', `<${rcpt}>: Recipient address rejected: User unknown`),
  relayDenied: (rcpt: string) => reply(554, '5.7.1', `<${rcpt}>: Relay access denied`),
  senderNotOwned: (sender: string, user: string) => reply(553, '5.7.1', `<${sender}>: Sender address rejected: not owned by user ${user}`),
  authRequired: () => reply(530, '5.7.0', 'Authentication required'),
  authFailed: () => reply(535, '5.7.8', 'Authentication credentials invalid'),
  authThrottled: () => reply(454, '4.7.0', 'Too many failed authentication attempts; try again later'),
  tooManyConnections: () => reply(421, '4.7.0', 'Too many connections from your address; try again later'),
  tooBig: (limit: number) => reply(552, '5.3.4', `Message size exceeds fixed maximum message size (${limit} bytes)`),
  storeFailed: () => reply(451, '4.3.0', 'Temporary local problem; please try again later'),
  // RFC 5321 4.5.3.1.10 / RFC 1870 6.1: a temporary refusal, so the sender keeps the message.
  insufficientStorage: () => reply(452, '4.3.1', 'Insufficient system storage; please try again later'),
  shuttingDown: () => reply(421, '4.3.2', 'Service shutting down; please try again later'),
};

// smtp-server derives the enhanced code of an error reply from its numeric code alone (554 -> 5.6.0,
// 553 -> 5.1.3, 552 -> 5.2.2), which would misreport a relay refusal or an oversized message. Our
// error texts carry their own code first; for those, tell send() to add none. Done once, at import.
type Send = (code: number, data: unknown, context?: unknown) => void;
const proto = SMTPConnection.prototype as unknown as { send: Send; __letterboxPatched?: boolean };
if (!proto.__letterboxPatched) {
  const original = proto.send;
  proto.send = function send(this: unknown, code: number, data: unknown, context?: unknown) {
    const ownCode = context === undefined && typeof data === 'string' && /^[245]\.\d{1,3}\.\d{1,3} /.test(data);
    return original.call(this, code, data, ownCode ? false : context);
  };
  proto.__letterboxPatched = true;
}
