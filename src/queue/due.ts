// What the scheduler reads off its live entries: which recipients are due now, grouped by destination
// domain (one agent call per domain carries them all), what the agent is handed, when the next one
// falls due, and the depth.
import type { Readable } from 'node:stream';
import type { LetterboxEvents } from '../core/events.js';
import type { OutboundMessage } from '../core/interfaces.js';
import type { QueueEntry, QueueRecipient } from '../core/types.js';
import { parseAddress } from '../core/address.js';
import { isPending } from './results.js';

export type Due = { entry: QueueEntry; recipients: QueueRecipient[] };

/** Due recipients by domain, oldest entries first; entries for which `skip` says so are left out. */
export function dueByDomain(entries: Iterable<QueueEntry>, skip: (entry: QueueEntry) => boolean, now: number): Map<string, Due[]> {
  const byDomain = new Map<string, Due[]>();
  const ordered = [...entries].filter((e) => !skip(e)).sort((a, b) => a.createdAt - b.createdAt);
  for (const entry of ordered) {
    for (const r of entry.recipients) {
      if (!isPending(r) || (r.nextAttemptAt ?? 0) > now) continue;
      const domain = parseAddress(r.address)?.domain ?? '';
      const group = byDomain.get(domain) ?? [];
      let due = group.find((d) => d.entry === entry);
      if (!due) group.push((due = { entry, recipients: [] }));
      due.recipients.push(r);
      byDomain.set(domain, group);
    }
  }
  return byDomain;
}

/** What the delivery agent is handed for one domain's group. */
export function outboundMessages(group: Due[], open: (messageId: string) => Readable): OutboundMessage[] {
  return group.map(({ entry, recipients }) => ({
    queueId: entry.id,
    sender: entry.sender,
    recipients: recipients.map((r) => ({ address: r.address, ...(r.dsn ? { dsn: r.dsn } : {}) })),
    size: entry.size,
    ...(entry.envid ? { envid: entry.envid } : {}),
    ...(entry.ret ? { ret: entry.ret } : {}),
    open: () => open(entry.messageId),
  }));
}

/** The earliest next attempt after `now` (Infinity when none). Recipients due already are not counted. */
export function nextDueAfter(entries: Iterable<QueueEntry>, now: number): number {
  let next = Infinity;
  for (const entry of entries) {
    for (const r of entry.recipients) if (isPending(r) && (r.nextAttemptAt ?? 0) > now) next = Math.min(next, r.nextAttemptAt ?? 0);
  }
  return next;
}

export function queueDepth(entries: Iterable<QueueEntry>): LetterboxEvents['queue.depth'] {
  let messages = 0;
  let recipients = 0;
  let deferred = 0;
  for (const entry of entries) {
    messages += 1;
    for (const r of entry.recipients) {
      if (r.state === 'delivered' || r.state === 'bounced') continue;
      recipients += 1;
      if (r.state === 'deferred') deferred += 1;
    }
  }
  return { messages, recipients, deferred };
}
