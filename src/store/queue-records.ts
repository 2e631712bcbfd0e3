// What a stored queue entry must look like before anything uses it. The queue is read before the
// servers start, so a malformed entry (a bug, a hand edit, a store restored from elsewhere) or one
// bloated by an older version (remote reply text kept whole, before it was capped at 300 characters)
// must not stop the appliance: the first is set aside by the store check, the second is cut on reading.
import type { QueueEntry, QueueRecipient, RecipientState } from '../core/types.js';

/** Text kept per answer when reading an entry; delivery keeps 300 characters, this only bounds old ones. */
const MAX_STORED_TEXT = 1000;
const STATES: ReadonlySet<RecipientState> = new Set(['queued', 'inflight', 'deferred', 'delivered', 'bounced']);

const isText = (value: unknown): value is string => typeof value === 'string';
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** Why a stored value cannot be a queue entry, or null when it can. */
export function malformedQueueEntry(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const entry = value as Partial<QueueEntry>;
  if (!isText(entry.id) || !isText(entry.messageId) || !isText(entry.sender)) return 'id, message or sender missing';
  if (!isTime(entry.size) || !isTime(entry.createdAt)) return 'size or creation time missing';
  if (!Array.isArray(entry.recipients) || entry.recipients.length === 0) return 'no recipients';
  for (const r of entry.recipients as unknown[]) {
    const recipient = r as Partial<QueueRecipient> | null;
    if (!recipient || !isText(recipient.address) || !STATES.has(recipient.state as RecipientState)) return 'a recipient without address or state';
    if (!isTime(recipient.attempts) || !isTime(recipient.updatedAt)) return 'a recipient without attempts or time';
  }
  return null;
}

/** The entry as the queue may use it: null when malformed; over-long answers cut. */
export function readQueueEntry(value: unknown): QueueEntry | null {
  if (malformedQueueEntry(value) !== null) return null;
  const entry = value as QueueEntry;
  if (!isTime(entry.nextAttemptAt)) entry.nextAttemptAt = entry.createdAt;
  if (!isTime(entry.attempts)) entry.attempts = 0;
  if (entry.lastError !== undefined) entry.lastError = cut(entry.lastError);
  for (const r of entry.recipients) if (r.lastError !== undefined) r.lastError = cut(r.lastError);
  return entry;
}

function cut(text: unknown): string {
  const line = String(text);
  return line.length > MAX_STORED_TEXT ? `${line.slice(0, MAX_STORED_TEXT)} [...]` : line;
}
