// Failed AUTH attempts per client: a delay that doubles with each failure, then a temporary refusal,
// the way Postfix's anvil and Dovecot's auth penalty work. (Connections per client: gate.ts.)

export interface AuthThrottleSettings {
  authFailureDelayMs: number;
  authFailureMaxDelayMs: number;
  authFailureLimit: number;
  authFailureWindowSeconds: number;
}

export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();
  private prunedAt: number;
  constructor(
    private readonly settings: AuthThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.prunedAt = now();
  }

  private recent(client: string): number[] {
    const since = this.now() - this.settings.authFailureWindowSeconds * 1000;
    const kept = (this.failures.get(client) ?? []).filter((at) => at > since);
    if (kept.length > 0) this.failures.set(client, kept);
    else this.failures.delete(client);
    return kept;
  }

  /** True when this client has failed too often lately and must not even try. */
  blocked(client: string): boolean {
    return this.recent(client).length >= this.settings.authFailureLimit;
  }

  /** Records a failure; returns how long to wait before answering it. */
  fail(client: string): number {
    this.prune();
    const recent = this.recent(client);
    recent.push(this.now());
    this.failures.set(client, recent);
    const delay = this.settings.authFailureDelayMs * 2 ** (recent.length - 1);
    return Math.min(delay, this.settings.authFailureMaxDelayMs);
  }

  /**
   * Forgets clients whose failures have all expired. A scanner that fails once and never comes back
   * would otherwise stay in the map for good, and port 587 sees thousands of them a day.
   */
  private prune(): void {
    if (this.now() - this.prunedAt < this.settings.authFailureWindowSeconds * 1000) return;
    this.prunedAt = this.now();
    for (const client of [...this.failures.keys()]) this.recent(client);
  }
}
