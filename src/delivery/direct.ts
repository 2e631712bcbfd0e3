// Direct delivery to a domain's mail exchangers (RFC 5321 5.1): MX hosts in preference order, each
// host's addresses in turn, until every recipient has a final answer or the list runs out. A recipient
// that got a 4xx or lost its connection at one host is tried again at the next.
import type { Logger } from 'pino';
import type { DeliveryOutcome } from '../core/types.js';
import { addressesOfExchanges, DestinationLookup, findMailHosts, type DnsSettings, type ExchangeAddresses, type MailHost, type MailRoute } from './mx.js';
import { outcomeOfReason, outcomeOfReply, type RecipientLedger } from './outcomes.js';
import { SessionFailure, SmtpSession, peerLabel, type SessionPeer, type SessionTimers } from './session.js';
import { transferOver } from './transfer.js';

/** Like Postfix's smtp_mx_address_limit: a domain with dozens of addresses must not hold a delivery forever. */
const MAX_ADDRESSES_PER_DELIVERY = 10;

export interface DirectContext {
  dns: DnsSettings;
  timers: SessionTimers;
  mxPort: number;
  log: Logger;
}

/** What the attempt says about the path to port 25, for the "blocked" guess. */
export interface DirectReport {
  /** An SMTP server answered at some address (whatever it then said). */
  reachedServer: boolean;
  /** Addresses where not even a greeting came back: refused, unreachable, timed out. */
  connectFailures: number;
}

/** A session-level refusal (greeting, EHLO, TLS) is about this host only; the next one may do better. */
function deferredByReply(address: string, reply: string, reason: string, remoteMta: string): DeliveryOutcome {
  const answered = outcomeOfReply(address, reply, remoteMta, 'mx');
  const enhancedCode = answered.enhancedCode.replace(/^\d/, '4');
  return outcomeOfReason(address, 'deferred', enhancedCode, `${reason}: ${answered.reply}`, 'mx', remoteMta);
}

function failureOutcome(failure: SessionFailure, remoteMta: string): (address: string) => DeliveryOutcome {
  if (failure.reply) return (address) => deferredByReply(address, failure.reply as string, failure.message, remoteMta);
  // RFC 3463: X.4.1 no answer from host, X.4.2 bad connection (a deadline too), X.7.5 cryptographic
  // failure, X.3.0 our own (an aborted attempt).
  const code = failure.stage === 'tls' ? '4.7.5' : failure.stage === 'lost' ? '4.4.2' : failure.stage === 'aborted' ? '4.3.0' : '4.4.1';
  return (address) => outcomeOfReason(address, 'deferred', code, failure.message, 'mx', remoteMta);
}

export async function deliverDirect(domain: string, ledger: RecipientLedger, ctx: DirectContext, signal?: AbortSignal): Promise<DirectReport> {
  const report: DirectReport = { reachedServer: false, connectFailures: 0 };
  const everyone = ledger.unsettled();
  const lookup = new DestinationLookup(ctx.dns, domain, signal);
  let route: MailRoute;
  let exchanges: ExchangeAddresses;
  try {
    route = await findMailHosts(lookup, domain);
    if (route.kind !== 'hosts') return settleWithoutHosts(domain, route, ledger);
    const hosts = aheadOfMyself(route.hosts, ctx.timers.hostname);
    if (hosts.length === 0) {
      // RFC 5321 5.1: this box is the best MX for the domain, yet the domain is not one of its own.
      ledger.recordAll(everyone, (a) => outcomeOfReason(a, 'bounced', '5.4.6', `554 5.4.6 mail for ${domain} loops back to myself (${ctx.timers.hostname} is its best MX)`, 'mx'));
      return report;
    }
    exchanges = await addressesOfExchanges(lookup, hosts, MAX_ADDRESSES_PER_DELIVERY);
  } finally {
    lookup.close();
  }
  let attempts = 0;
  for (const host of exchanges.hosts) {
    for (const address of host.addresses) {
      if (ledger.unsettled().length === 0 || attempts >= MAX_ADDRESSES_PER_DELIVERY || signal?.aborted) return report;
      attempts++;
      await attemptAddress(host, address, ledger, ctx, report, signal);
    }
  }
  if (attempts === 0) noAddressAnywhere(domain, route.implicit, exchanges.trouble, ledger);
  return report;
}

/** A destination that has no exchanges to try: no such domain, a null MX, or DNS could not say. */
function settleWithoutHosts(domain: string, route: Exclude<MailRoute, { kind: 'hosts' }>, ledger: RecipientLedger): DirectReport {
  const everyone = ledger.unsettled();
  switch (route.kind) {
    case 'null-mx':
      // RFC 7505 3: no connection is attempted, and the reply is 556 5.1.10 (RFC 7505 4.1, RFC 3463).
      ledger.recordAll(everyone, (a) => outcomeOfReason(a, 'bounced', '5.1.10', `556 5.1.10 Domain ${domain} does not accept mail (null MX)`, 'mx'));
      break;
    case 'no-such-domain':
      ledger.recordAll(everyone, (a) => outcomeOfReason(a, 'bounced', '5.1.2', route.reason, 'mx'));
      break;
    case 'dns-failure':
      ledger.recordAll(everyone, (a) => outcomeOfReason(a, 'deferred', '4.4.3', route.reason, 'mx'));
      break;
  }
  return { reachedServer: false, connectFailures: 0 };
}

/**
 * The MX hosts to try: when this box is among them, only those it prefers to itself (RFC 5321 5.1:
 * "the SMTP client MUST ... discard all records with ... preference ... greater than or equal to" its own).
 */
function aheadOfMyself(hosts: MailHost[], myself: string): MailHost[] {
  const me = myself.toLowerCase().replace(/\.$/, '');
  const mine = hosts.find((host) => host.name.toLowerCase().replace(/\.$/, '') === me);
  return mine ? hosts.filter((host) => host.preference < mine.preference) : hosts;
}

function noAddressAnywhere(domain: string, implicit: boolean, lookupTrouble: string | undefined, ledger: RecipientLedger): void {
  const open = ledger.unsettled();
  if (lookupTrouble) {
    ledger.recordAll(open, (a) => outcomeOfReason(a, 'deferred', '4.4.3', lookupTrouble, 'mx'));
  } else if (implicit) {
    // RFC 5321 5.1: neither MX nor address records, so the domain does not take mail.
    ledger.recordAll(open, (a) => outcomeOfReason(a, 'bounced', '5.1.2', `${domain} has no MX and no address records`, 'mx'));
  } else {
    ledger.recordAll(open, (a) => outcomeOfReason(a, 'bounced', '5.4.4', `none of the MX hosts of ${domain} has an address`, 'mx'));
  }
}

async function attemptAddress(host: MailHost, address: string, ledger: RecipientLedger, ctx: DirectContext, report: DirectReport, signal?: AbortSignal): Promise<void> {
  const peer: SessionPeer = { address, port: ctx.mxPort, name: host.name, tls: 'opportunistic' };
  let session: SmtpSession;
  try {
    session = await openWithTlsFallback(peer, ctx, signal);
  } catch (err) {
    if (!(err instanceof SessionFailure)) throw err;
    if (err.stage === 'connect') report.connectFailures++;
    else if (err.stage !== 'aborted') report.reachedServer = true;
    ctx.log.info({ mta: peerLabel(peer), stage: err.stage, reason: err.message }, 'MX attempt failed');
    ledger.recordFirst(ledger.unsettled(), failureOutcome(err, host.name));
    return;
  }
  report.reachedServer = true;
  try {
    const { lost } = await transferOver(session, ledger.unsettled(), ledger, 'mx', ctx.log);
    if (lost) ctx.log.info({ mta: peerLabel(peer), reason: lost.message }, 'MX session broke off');
  } finally {
    session.close();
  }
}

/** Opportunistic TLS (RFC 7435): when the handshake itself fails, the same host is tried again in clear. */
async function openWithTlsFallback(peer: SessionPeer, ctx: DirectContext, signal?: AbortSignal): Promise<SmtpSession> {
  try {
    return await SmtpSession.open(peer, ctx.timers, signal);
  } catch (err) {
    if (!(err instanceof SessionFailure) || err.stage !== 'tls') throw err;
    ctx.log.info({ mta: peerLabel(peer), reason: err.message }, 'STARTTLS failed; trying again without TLS');
    return SmtpSession.open({ ...peer, tls: 'none' }, ctx.timers, signal);
  }
}
