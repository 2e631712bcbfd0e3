// When to try a deferred recipient again: the first retry after `retryFirstSeconds`, doubling up to
// `retryMaxSeconds` between tries (Postfix's minimal/maximal_backoff_time), until the message is
// `expireAfterSeconds` old (maximal_queue_lifetime), with one delay warning at `warnAfterSeconds`.

export interface RetryPolicy {
  retryFirstSeconds: number;
  retryMaxSeconds: number;
  warnAfterSeconds: number;
  expireAfterSeconds: number;
}

/** Delay after the `attempts`-th failed attempt (1-based). */
export function retryDelayMs(policy: RetryPolicy, attempts: number): number {
  const seconds = policy.retryFirstSeconds * 2 ** Math.max(0, attempts - 1);
  return Math.min(seconds, policy.retryMaxSeconds) * 1000;
}

export function isExpired(policy: RetryPolicy, createdAt: number, now: number): boolean {
  return now - createdAt >= policy.expireAfterSeconds * 1000;
}

export function isDueForWarning(policy: RetryPolicy, createdAt: number, warnedAt: number | undefined, now: number): boolean {
  return warnedAt === undefined && now - createdAt >= policy.warnAfterSeconds * 1000 && policy.warnAfterSeconds < policy.expireAfterSeconds;
}
