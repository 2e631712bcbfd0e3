// SMTP replies with their enhanced status codes (RFC 3463), in one place so every port answers alike.
// An SmtpReply is a reply we mean; anything else thrown below a hook is a fault of ours, which the
// boundary (boundary.ts) logs and answers with a temporary code (DESIGN.md principle 7). Our texts
// carry their enhanced code first, which connection-hooks.ts tells smtp-server not to add again.
export class SmtpReply extends Error {
  /** What smtp-server reads to choose the reply code. */
  readonly responseCode: number;
  constructor(
    readonly code: number,
    readonly enhanced: string,
    readonly text: string,
  ) {
    super(`${enhanced} ${text}`);
    this.name = 'SmtpReply';
    this.responseCode = code;
  }
}

export function reply(code: number, enhanced: string, text: string): SmtpReply {
  return new SmtpReply(code, enhanced, text);
}

export const replies = {
  userUnknown: (rcpt: string) => reply(550, '5.1.1', `<${rcpt}>: Recipient address rejected: User unknown`),
  relayDenied: (rcpt: string) => reply(554, '5.7.1', `<${rcpt}>: Relay access denied`),
  // RFC 3463 X.1.3 (Postfix answers 501 for bad address syntax): a name DNS could never hold.
  impossibleDomain: (rcpt: string) => reply(501, '5.1.3', `<${rcpt}>: Recipient address rejected: its domain cannot exist (at most 63 characters per label, 253 in all)`),
  senderNotOwned: (sender: string, user: string) => reply(553, '5.7.1', `<${sender}>: Sender address rejected: not owned by user ${user}`),
  authRequired: () => reply(530, '5.7.0', 'Authentication required'),
  authFailed: () => reply(535, '5.7.8', 'Authentication credentials invalid'),
  authThrottled: () => reply(454, '4.7.0', 'Too many failed authentication attempts; try again later'),
  tooManyAuthFailures: () => reply(421, '4.7.0', 'Too many failed authentication attempts; closing connection'),
  // RFC 4954 6: a temporary failure of the authentication mechanism itself.
  authUnavailable: () => reply(454, '4.7.0', 'Temporary authentication failure; try again later'),
  tooManyConnections: () => reply(421, '4.7.0', 'Too many connections from your address; try again later'),
  tooManyUnknownRecipients: () => reply(421, '4.7.0', 'Too many unknown recipients; closing connection'),
  tooBig: (limit: number) => reply(552, '5.3.4', `Message size exceeds fixed maximum message size (${limit} bytes)`),
  localFault: () => reply(451, '4.3.0', 'Temporary local problem; please try again later'),
  // RFC 5321 4.5.3.1.10 / RFC 1870 6.1: a temporary refusal, so the sender keeps the message.
  insufficientStorage: () => reply(452, '4.3.1', 'Insufficient system storage; please try again later'),
  shuttingDown: () => reply(421, '4.3.2', 'Service shutting down; please try again later'),
};
