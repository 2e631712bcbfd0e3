// The DeliveryAgent: direct delivery to the MX, and the smarthost when that is the chosen path or when
// direct delivery failed temporarily. The smarthost settings are read at every call, so `letterbox relay
// set` applies to the next delivery without a restart.
import type { Logger } from 'pino';
import type { DeliveryAgent, OutboundMessage } from '../core/interfaces.js';
import type { DeliveryOutcome, RelaySettings } from '../core/types.js';
import { PortBlockWatch } from './blocked.js';
import { deliverDirect, type DirectContext } from './direct.js';
import { abortedText, outcomeOfReason, RecipientLedger, type Consignment } from './outcomes.js';
import { deliverViaSmarthost, smarthostLabel, type SmarthostContext } from './smarthost.js';
import { dnsSettings, sessionTimers, type OutboundTimings } from './settings.js';

/**
 * The timings (settings.ts) are named as in the config's `delivery` section, so that section can be
 * handed over as it is, with `queue.connectTimeoutSeconds` and `queue.commandTimeoutSeconds`.
 */
export interface DeliverySettings extends OutboundTimings {
  mxPort: number;
  /** Different domains in a row that cannot be connected to before port 25 is taken as blocked. */
  blockedAfterDomains?: number;
  /** While blocked, how often one delivery tries the direct path first. */
  probeIntervalSeconds?: number;
  /** CA certificates (PEM) trusted for the smarthost besides Node's bundled roots (a private smarthost, tests). */
  relayCa?: string | readonly string[];
}

export interface DeliveryDeps {
  getRelay(): Promise<RelaySettings | undefined>;
  /** Extra CA certificates (PEM) for the smarthost, read at each smarthost session; overrides settings.relayCa. */
  getRelayCa?(): Promise<string | undefined>;
  isLocalDomain(domain: string): Promise<boolean>;
  log: Logger;
  now?: () => number;
}

const DEFAULT_BLOCKED_AFTER_DOMAINS = 3;
const DEFAULT_PROBE_INTERVAL_SECONDS = 600;

export function createDeliveryAgent(settings: DeliverySettings, deps: DeliveryDeps): DeliveryAgent {
  return new SmtpDeliveryAgent(settings, deps);
}

class SmtpDeliveryAgent implements DeliveryAgent {
  private readonly direct: DirectContext;
  private readonly smarthost: SmarthostContext;
  private readonly watch: PortBlockWatch;
  private readonly log: Logger;

  constructor(
    settings: DeliverySettings,
    private readonly deps: DeliveryDeps,
  ) {
    this.log = deps.log.child({ svc: 'delivery' });
    const dns = dnsSettings(settings);
    const timers = sessionTimers(settings);
    this.direct = { dns, timers, mxPort: settings.mxPort, log: this.log };
    this.smarthost = { dns, timers, log: this.log, ...(settings.relayCa ? { ca: settings.relayCa } : {}) };
    this.watch = new PortBlockWatch(
      settings.blockedAfterDomains ?? DEFAULT_BLOCKED_AFTER_DOMAINS,
      (settings.probeIntervalSeconds ?? DEFAULT_PROBE_INTERVAL_SECONDS) * 1000,
      deps.now ?? Date.now,
      this.log,
    );
  }

  get outboundBlocked(): boolean {
    return this.watch.isBlocked;
  }

  async deliver(
    domain: string,
    messages: OutboundMessage[],
    onDelivered?: (queueId: string, outcome: DeliveryOutcome) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<Map<string, DeliveryOutcome[]>> {
    const ledger = new RecipientLedger(messages, onDelivered);
    try {
      await this.route(domain, ledger, signal);
    } catch (err) {
      // A bug or a store failure, not a remote answer: nobody's mail is bounced for it.
      this.log.error({ err, domain }, 'delivery failed unexpectedly');
      ledger.recordAll(ledger.unsettled(), (a) => outcomeOfReason(a, 'deferred', '4.3.0', 'local error during delivery', 'mx'));
    }
    if (signal?.aborted) {
      // Whatever a session said on its way down, these were not delivered because we stopped; those the
      // far side accepted (onDelivered was called) or refused for good keep their answer.
      this.log.info({ domain, reason: abortedText(signal) }, 'delivery attempt aborted');
      markAborted(ledger, abortedText(signal));
    }
    return ledger.result((a) => outcomeOfReason(a, 'deferred', '4.4.0', 'no delivery was attempted', 'mx'));
  }

  private async route(domain: string, ledger: RecipientLedger, signal?: AbortSignal): Promise<void> {
    const relay = await this.usableRelay();
    const local = await this.deps.isLocalDomain(domain);
    // Mail for our own domains must not leave through someone else's server.
    const smarthost = relay && !local ? relay : undefined;

    if (smarthost && (smarthost.mode === 'always' || this.watch.skipDirect())) {
      await deliverViaSmarthost(smarthost, ledger.unsettled(), ledger, await this.smarthostContext(), signal);
      return;
    }

    const report = await deliverDirect(domain, ledger, this.direct, signal);
    // An aborted attempt says nothing about port 25, and nothing more is tried.
    if (signal?.aborted) return;
    if (report.reachedServer) this.watch.serverReached();
    else if (report.connectFailures > 0) this.watch.connectFailed(domain);

    const deferred = ledger.unsettled();
    if (deferred.length === 0 || !relay) return;
    if (local) {
      this.note(ledger, deferred, `not relayed through the smarthost: ${domain} is one of this box's own domains`);
      return;
    }
    if (relay.mode !== 'fallback') return;
    this.log.info({ domain, smarthost: smarthostLabel(relay) }, 'direct delivery failed temporarily; using the smarthost');
    const direct = repliesOf(ledger, deferred);
    await deliverViaSmarthost(relay, deferred, ledger, await this.smarthostContext(), signal);
    // Still deferred: the DSN's reader wants both stories, the smarthost's and the MX's.
    for (const { message, recipients } of deferred) {
      for (const { address } of recipients) {
        const outcome = ledger.outcomeOf(message, address);
        const before = direct.get(`${message.queueId}\n${address}`);
        if (outcome?.status === 'deferred' && before) ledger.record(message, { ...outcome, reply: `${outcome.reply} (direct delivery: ${before})` });
      }
    }
  }

  /** The smarthost's context with the CA certificates trusted now (`letterbox relay set --ca`). */
  private async smarthostContext(): Promise<SmarthostContext> {
    const ca = await this.deps.getRelayCa?.();
    return ca ? { ...this.smarthost, ca } : this.smarthost;
  }

  /** The smarthost settings, unless there are none or the mode is `never`. */
  private async usableRelay(): Promise<RelaySettings | undefined> {
    const relay = await this.deps.getRelay();
    return relay && relay.mode !== 'never' ? relay : undefined;
  }

  private note(ledger: RecipientLedger, consignments: Consignment[], remark: string): void {
    for (const { message, recipients } of consignments) {
      for (const { address } of recipients) {
        const outcome = ledger.outcomeOf(message, address);
        if (outcome) ledger.record(message, { ...outcome, reply: `${outcome.reply}; ${remark}` });
      }
    }
  }
}

/** RFC 3463 X.3.0: the attempt stopped on our side; the next one starts afresh. */
function markAborted(ledger: RecipientLedger, reason: string): void {
  for (const { message, recipients } of ledger.unsettled()) {
    for (const { address } of recipients) {
      const before = ledger.outcomeOf(message, address);
      ledger.record(message, outcomeOfReason(address, 'deferred', '4.3.0', reason, before?.via ?? 'mx', before?.remoteMta));
    }
  }
}

function repliesOf(ledger: RecipientLedger, consignments: Consignment[]): Map<string, string> {
  const replies = new Map<string, string>();
  for (const { message, recipients } of consignments) {
    for (const { address } of recipients) {
      const outcome = ledger.outcomeOf(message, address);
      if (outcome) replies.set(`${message.queueId}\n${address}`, outcome.reply);
    }
  }
  return replies;
}
