// The timing settings of outbound delivery and what they become for a session and for DNS. The config's
// `delivery` section (src/config) carries the same names and the same defaults; the defaults here serve
// callers that leave a setting out.
import type { DnsSettings } from './mx.js';
import type { SessionTimers } from './session.js';

export interface OutboundTimings {
  /** Our name in EHLO. */
  hostname: string;
  /** `dns.servers`: "IP", "IP:port" or "[IPv6]:port"; empty for the system resolver. */
  dnsServers: readonly string[];
  /** The TCP connection (and an implicit-TLS handshake) must be up within this. */
  connectTimeoutSeconds: number;
  /** No byte either way for this long ends a session, whatever stage it is in. */
  commandTimeoutSeconds: number;
  /** The whole greeting, however it trickles in (RFC 5321 4.5.3.2.1: 5 minutes). */
  greetingTimeoutSeconds?: number;
  /** The whole reply to each command: EHLO, STARTTLS and its handshake, AUTH, MAIL, RCPT, DATA, RSET, QUIT. */
  replyTimeoutSeconds?: number;
  /** Bytes a second the message body must average, on top of replyTimeoutSeconds for the whole of it. */
  minDataRate?: number;
  /** The reply after the final dot (RFC 5321 4.5.3.2.6: 10 minutes). */
  finalReplyTimeoutSeconds?: number;
  /** Per DNS query try; two tries are made. c-ares allows at most 5. */
  dnsTimeoutSeconds?: number;
  /** The whole DNS work for one destination: the MX and the addresses of every exchange. */
  resolveTimeoutSeconds?: number;
}

export const TIMING_DEFAULTS = {
  greetingTimeoutSeconds: 300,
  // RFC 5321 4.5.3.2.2-3: 5 minutes for MAIL and RCPT; the others get the same.
  replyTimeoutSeconds: 300,
  // 10 MB in 40 minutes: slow enough for a loaded uplink shared by 20 deliveries, fast enough that a
  // server reading a byte a second gives the slot back.
  minDataRate: 4096,
  finalReplyTimeoutSeconds: 600,
  dnsTimeoutSeconds: 5,
  // Two rounds of look-ups at their slowest (5 s, then up to 10 s) for the MX and for the exchanges.
  resolveTimeoutSeconds: 60,
} as const;

export function sessionTimers(timings: OutboundTimings): SessionTimers {
  return {
    hostname: timings.hostname,
    connectTimeoutMs: timings.connectTimeoutSeconds * 1000,
    idleTimeoutMs: timings.commandTimeoutSeconds * 1000,
    greetingTimeoutMs: (timings.greetingTimeoutSeconds ?? TIMING_DEFAULTS.greetingTimeoutSeconds) * 1000,
    replyTimeoutMs: (timings.replyTimeoutSeconds ?? TIMING_DEFAULTS.replyTimeoutSeconds) * 1000,
    minDataRate: timings.minDataRate ?? TIMING_DEFAULTS.minDataRate,
    finalReplyTimeoutMs: (timings.finalReplyTimeoutSeconds ?? TIMING_DEFAULTS.finalReplyTimeoutSeconds) * 1000,
  };
}

export function dnsSettings(timings: OutboundTimings): DnsSettings {
  return {
    servers: timings.dnsServers,
    queryTimeoutMs: (timings.dnsTimeoutSeconds ?? TIMING_DEFAULTS.dnsTimeoutSeconds) * 1000,
    resolveTimeoutMs: (timings.resolveTimeoutSeconds ?? TIMING_DEFAULTS.resolveTimeoutSeconds) * 1000,
  };
}

/** How a deadline reads in a DSN: whole seconds as such, else one decimal. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
