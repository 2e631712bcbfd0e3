// The one door for new mail (core's MailIntake): SMTP's DATA and the queue's DSNs both route, commit and
// wake the queue through here, so where a recipient goes is decided by one rule and no queue entry is
// committed without the scheduler hearing of it.
import type { Directory, Disposition, MailIntake, MessageWriter, NewMessage } from '../core/interfaces.js';
import type { EventBus } from '../core/events.js';
import { parseAddress } from '../core/address.js';
import type { QueueEntry, RecipientDsn } from '../core/types.js';

export class Intake implements MailIntake {
  constructor(
    private readonly directory: Directory,
    /** Takes a committed queue entry into the running schedule. */
    private readonly admit: (queueId: string) => void,
    /** Told of each new queue entry, for those who show the queue (the panel, the web page). */
    private readonly bus?: EventBus,
  ) {}

  async route(address: string) {
    const domain = parseAddress(address)?.domain;
    if (!domain) return null;
    if (await this.directory.isLocalDomain(domain)) return this.directory.resolve(address);
    return { local: [], remote: [address] };
  }

  async commit(writer: MessageWriter, message: NewMessage, settles?: QueueEntry) {
    const disposition = dispositionOf(message);
    const result = await writer.commit(settles ? { ...disposition, settles } : disposition);
    if (result.queueId) {
      this.admit(result.queueId);
      const recipients = disposition.queue?.recipients.map((r) => r.address) ?? [];
      this.bus?.emit('message.queued', { queueId: result.queueId, messageId: result.messageId, recipients });
    }
    return result;
  }
}

/**
 * Local mailboxes and remote addresses of all recipients, each once. A remote address reached through
 * an alias keeps the DSN parameters of the recipient that reached it first (RFC 3461 5.2.7 lets an
 * expansion drop them; keeping them is kinder to the sender).
 */
export function dispositionOf(message: NewMessage): Disposition {
  const mailboxes = new Set<string>();
  const remote = new Map<string, { address: string; dsn?: RecipientDsn }>();
  for (const { route, dsn } of message.recipients) {
    for (const user of route.local) mailboxes.add(user);
    for (const address of route.remote) {
      if (!remote.has(address)) remote.set(address, { address, ...(dsn && (dsn.notify || dsn.orcpt) ? { dsn } : {}) });
    }
  }
  const queue = remote.size === 0 ? undefined : {
    sender: message.sender,
    recipients: [...remote.values()],
    ...(message.ret ? { ret: message.ret } : {}),
    ...(message.envid ? { envid: message.envid } : {}),
  };
  return {
    mailboxes: [...mailboxes],
    ...(queue ? { queue } : {}),
    ...(message.receivedAt !== undefined ? { receivedAt: message.receivedAt } : {}),
  };
}
