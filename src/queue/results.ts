// What one delivery attempt's outcomes make of a queue entry. The scheduler applies them to a copy of
// its live entry and adopts the copy only once it is written (scheduler.ts says why).
import type { DeliveryOutcome, QueueEntry, QueueRecipient, RecipientState } from '../core/types.js';
import { isDueForWarning, isExpired, retryDelayMs, type RetryPolicy } from './retry.js';

export interface AttemptResult {
  /** Recipients that failed for good in this attempt (bounced, or deferred past the lifetime): the failure DSN. */
  failed: QueueRecipient[];
  /** Set when the delay warning is due: the deferred recipients it tells of, and when the queue gives up. */
  warning?: { recipients: QueueRecipient[]; retryUntil: number };
  /** The new state of each tried recipient, by its index in the entry, with the reply for the log. */
  changes: { index: number; state: RecipientState; detail: string }[];
}

/** The agent gave no word on a recipient (it should always): treat as a temporary failure. */
export function lostOutcome(address: string): DeliveryOutcome {
  return { address, status: 'deferred', reply: '451 4.3.0 Delivery attempt ended without a result', enhancedCode: '4.3.0', via: 'mx' };
}

export function isPending(r: QueueRecipient): boolean {
  return r.state === 'queued' || r.state === 'deferred';
}

/** The earliest next attempt of the entry's pending recipients (`now` when there is none). */
export function earliestAttempt(entry: QueueEntry, now: number): number {
  const times = entry.recipients.filter(isPending).map((r) => r.nextAttemptAt ?? now);
  return times.length > 0 ? Math.min(...times) : now;
}

/** Marks the recipients at `accepted` (indexes) delivered, as the far side's answers in `outcomes` say. */
export function applyAcceptances(entry: QueueEntry, accepted: number[], outcomes: DeliveryOutcome[], now: number): void {
  for (const index of accepted) {
    const r = entry.recipients[index];
    const outcome = r && outcomes.find((o) => o.address === r.address && o.status === 'delivered');
    if (!r || !outcome) continue;
    r.state = 'delivered';
    r.attempts += 1;
    r.updatedAt = now;
    if (outcome.remoteMta) r.remoteMta = outcome.remoteMta;
    delete r.lastError;
    delete r.status;
    delete r.nextAttemptAt;
  }
  entry.nextAttemptAt = earliestAttempt(entry, now);
}

/**
 * Applies the outcomes for the recipients at `tried` (indexes into `entry.recipients`) to `entry`, in
 * place: state, attempts, last answer, next attempt; and says which DSN is due.
 */
export function applyOutcomes(entry: QueueEntry, tried: number[], outcomes: DeliveryOutcome[], policy: RetryPolicy, now: number): AttemptResult {
  const result: AttemptResult = { failed: [], changes: [] };
  entry.attempts += 1;
  for (const index of tried) {
    const r = entry.recipients[index];
    if (!r) continue;
    const outcome = outcomes.find((o) => o.address === r.address) ?? lostOutcome(r.address);
    r.attempts += 1;
    r.updatedAt = now;
    if (outcome.remoteMta) r.remoteMta = outcome.remoteMta;
    delete r.nextAttemptAt;
    if (outcome.status === 'delivered') {
      delete r.lastError;
      delete r.status;
      r.state = 'delivered';
      result.changes.push({ index, state: r.state, detail: outcome.reply });
      continue;
    }
    r.status = outcome.enhancedCode;
    if (outcome.status === 'bounced') {
      r.lastError = outcome.reply;
      r.state = 'bounced';
      result.failed.push(r);
    } else if (isExpired(policy, entry.createdAt, now)) {
      r.lastError = `${outcome.reply} (gave up: message expired after ${describeLifetime(policy.expireAfterSeconds)} in the queue)`;
      r.state = 'bounced';
      result.failed.push(r);
    } else {
      r.lastError = outcome.reply;
      r.nextAttemptAt = now + retryDelayMs(policy, r.attempts);
      r.state = 'deferred';
    }
    result.changes.push({ index, state: r.state, detail: r.lastError ?? outcome.reply });
  }
  entry.lastError = tried.map((i) => entry.recipients[i]?.lastError).find((e) => e !== undefined) ?? entry.lastError;
  entry.nextAttemptAt = earliestAttempt(entry, now);

  // One DSN per write: a failure report goes first; a warning that is due waits for the next attempt.
  const deferred = entry.recipients.filter((r) => r.state === 'deferred');
  if (result.failed.length === 0 && deferred.length > 0 && isDueForWarning(policy, entry.createdAt, entry.warnedAt, now)) {
    entry.warnedAt = now;
    result.warning = { recipients: deferred, retryUntil: entry.createdAt + policy.expireAfterSeconds * 1000 };
  }
  return result;
}

/** `432000` -> `5 days`, `14400` -> `4 hours`, `90` -> `90 seconds`: the lifetime as a DSN reader reads it. */
export function describeLifetime(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size} ${name}${seconds === size ? '' : 's'}`;
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}
