// Delivery through the upstream smarthost (`letterbox relay set`). Unlike an MX, the smarthost gets our
// credentials, so TLS is mandatory (STARTTLS required, or implicit TLS, RFC 8314) and its certificate is
// verified; AUTH is sent only over TLS. The password is never logged.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { OutboundMessage } from '../core/interfaces.js';
import type { DeliveryOutcome, RelaySettings } from '../core/types.js';
import { rfc5322Date } from '../core/rfc5322.js';
import { addressesOf, DestinationLookup, type DnsSettings } from './mx.js';
import { outcomeOfReason, outcomeOfReply, RecipientLedger, type Consignment } from './outcomes.js';
import { SessionFailure, SmtpSession, peerLabel, type SessionPeer, type SessionTimers } from './session.js';
import { dnsSettings, sessionTimers, type OutboundTimings } from './settings.js';
import { transferOver } from './transfer.js';

export interface SmarthostContext {
  dns: DnsSettings;
  timers: SessionTimers;
  /** Extra CA certificates (PEM) trusted for the smarthost besides Node's bundled roots. */
  ca?: string | readonly string[];
  log: Logger;
}

/** Where the log and the DSNs name the smarthost; never with the credentials. */
export function smarthostLabel(relay: RelaySettings): string {
  return `${relay.host}:${relay.port}`;
}

// The smarthost failing is our side's problem (configuration, the provider): it never bounces mail by
// itself, only the answers it gives about recipients and messages do.
function deferral(failure: SessionFailure, relay: RelaySettings): (address: string) => DeliveryOutcome {
  const reason = `smarthost ${failure.message}`;
  // RFC 3463 / RFC 5248: X.7.4 security features not supported (STARTTLS refused or not offered),
  // X.7.5 cryptographic failure, X.7.0 security (no TLS for the credentials), X.4.1 no answer.
  const tlsCode = failure.reply ? '4.7.4' : '4.7.5';
  if (failure.reply && failure.stage !== 'tls') {
    return (address) => {
      const answered = outcomeOfReply(address, failure.reply as string, relay.host, 'smarthost');
      const code = answered.enhancedCode.replace(/^\d/, '4');
      return outcomeOfReason(address, 'deferred', code, `${reason}: ${answered.reply}`, 'smarthost', relay.host);
    };
  }
  const code = failure.stage === 'tls' ? tlsCode : failure.stage === 'auth' ? '4.7.0' : failure.stage === 'lost' ? '4.4.2' : failure.stage === 'aborted' ? '4.3.0' : '4.4.1';
  const text = failure.reply && !failure.message.includes(failure.reply) ? `${reason}: ${failure.reply}` : reason;
  return (address) => outcomeOfReason(address, 'deferred', code, text, 'smarthost', relay.host);
}

async function relayAddresses(relay: RelaySettings, dns: DnsSettings, signal?: AbortSignal): Promise<{ addresses: string[]; reason?: string }> {
  if (net.isIP(relay.host) !== 0) return { addresses: [relay.host] };
  const lookup = new DestinationLookup(dns, relay.host, signal);
  const { addresses, temporaryFailure } = await addressesOf(lookup, relay.host).finally(() => lookup.close());
  if (addresses.length > 0) return { addresses };
  return { addresses, reason: temporaryFailure ?? `smarthost ${relay.host} has no address records` };
}

/** Sends `consignments` through the smarthost, recording the outcome of every recipient in `ledger`. */
export async function deliverViaSmarthost(
  relay: RelaySettings,
  consignments: readonly Consignment[],
  ledger: RecipientLedger,
  ctx: SmarthostContext,
  signal?: AbortSignal,
): Promise<void> {
  const log = ctx.log.child({ smarthost: smarthostLabel(relay) });
  const { addresses, reason } = await relayAddresses(relay, ctx.dns, signal);
  if (addresses.length === 0) {
    ledger.recordAll(consignments, (a) => outcomeOfReason(a, 'deferred', '4.4.3', reason ?? 'no address', 'smarthost', relay.host));
    return;
  }
  for (const [index, address] of addresses.entries()) {
    const peer: SessionPeer = { address, port: relay.port, name: relay.host, tls: relay.tls, ...(ctx.ca ? { ca: ctx.ca } : {}) };
    let session: SmtpSession | undefined;
    try {
      session = await SmtpSession.open(peer, ctx.timers, signal);
      if (relay.user) await session.login(relay.user, relay.password ?? '');
    } catch (err) {
      session?.close();
      if (!(err instanceof SessionFailure)) throw err;
      log.warn({ mta: peerLabel(peer), stage: err.stage, reason: err.message }, 'smarthost attempt failed');
      ledger.recordAll(consignments, deferral(err, relay));
      // Another address of the same smarthost helps only when this one could not be reached at all.
      if (err.stage === 'connect' && index < addresses.length - 1 && !signal?.aborted) continue;
      return;
    }
    try {
      const { lost } = await transferOver(session, consignments, ledger, 'smarthost', log);
      if (lost) log.warn({ mta: peerLabel(peer), reason: lost.message }, 'smarthost session broke off');
    } finally {
      session.close();
    }
    return;
  }
}

/** The smarthost test needs the session's and DNS's timings, nothing of the MX path. */
export interface RelayTestSettings extends OutboundTimings {
  relayCa?: string | readonly string[];
}

/** The short message `letterbox relay test ADDRESS` sends. */
export function relayTestMessage(hostname: string, relay: RelaySettings, to: string, from: string): OutboundMessage {
  const body = [
    `From: <${from}>`,
    `To: <${to}>`,
    'Subject: Letterbox relay test',
    `Date: ${rfc5322Date(new Date())}`,
    `Message-ID: <relay-test.${randomBytes(8).toString('hex')}@${hostname}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `This message was sent by the mail appliance ${hostname} through the smarthost`,
    `${smarthostLabel(relay)} to check that mail can leave that way. No reply is needed.`,
    '',
  ].join('\r\n');
  const bytes = Buffer.from(body, 'utf8');
  return { queueId: 'relay-test', sender: from, recipients: [{ address: to }], size: bytes.length, open: () => Readable.from([bytes]) };
}

/** Sends a short test message through `relay`, whatever its mode, and says what became of it. */
export async function testRelay(
  settings: RelayTestSettings,
  relay: RelaySettings,
  to: string,
  from: string,
  log: Logger = pino({ level: 'silent' }),
): Promise<DeliveryOutcome> {
  const message = relayTestMessage(settings.hostname, relay, to, from);
  const ledger = new RecipientLedger([message]);
  const ctx: SmarthostContext = {
    dns: dnsSettings(settings),
    timers: sessionTimers(settings),
    ...(settings.relayCa ? { ca: settings.relayCa } : {}),
    log,
  };
  await deliverViaSmarthost(relay, ledger.unsettled(), ledger, ctx);
  const outcome = ledger.outcomeOf(message, to);
  return outcome ?? outcomeOfReason(to, 'deferred', '4.4.1', 'the smarthost gave no answer', 'smarthost', relay.host);
}
