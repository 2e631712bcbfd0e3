// The "outbound port 25 seems blocked" guess. Many residential and some business ISPs drop or refuse
// connections to port 25 anywhere but their own relay. One unreachable domain says nothing (its servers
// may be down), but several different domains in a row that cannot even be connected to say a lot.
// While blocked, mail goes straight to the smarthost, and every probe interval one delivery tries the
// direct path first; any SMTP server answering clears the state.
import type { Logger } from 'pino';

export class PortBlockWatch {
  private blocked = false;
  /** Distinct domains whose every MX address failed at connect level, since the last server answered. */
  private readonly unreachable = new Set<string>();
  private lastDirectTryAt = 0;

  constructor(
    private readonly threshold: number,
    private readonly probeIntervalMs: number,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  get isBlocked(): boolean {
    return this.blocked;
  }

  /**
   * Whether a delivery that has a smarthost to turn to should skip the direct attempt. When a probe is
   * due this answers false once and counts as the probe, so concurrent deliveries do not all probe.
   */
  skipDirect(): boolean {
    if (!this.blocked) return false;
    const now = this.now();
    if (now - this.lastDirectTryAt < this.probeIntervalMs) return true;
    this.lastDirectTryAt = now;
    this.log.info('probing whether outbound port 25 works again');
    return false;
  }

  /** An SMTP server answered on a direct connection, whatever it said. */
  serverReached(): void {
    this.unreachable.clear();
    if (!this.blocked) return;
    this.blocked = false;
    this.log.info('outbound port 25 works again; delivering directly');
  }

  /** Every address of `domain` failed before any SMTP greeting. */
  connectFailed(domain: string): void {
    this.lastDirectTryAt = this.now();
    if (this.blocked) return;
    this.unreachable.add(domain);
    if (this.unreachable.size < this.threshold) return;
    this.blocked = true;
    this.log.warn({ domains: [...this.unreachable] }, 'outbound port 25 seems blocked');
  }
}
