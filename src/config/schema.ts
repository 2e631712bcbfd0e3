// The shape of the start-up configuration. Everything here is read once, validated, frozen and handed to
// each subsystem as its own slice (DESIGN.md principle 6); settings that change at run time live in the
// store instead. Every field is readonly all the way down so a slice cannot be edited behind the loader.

/** The listeners, in the order the appliance opens them. A port of 0 disables that listener. */
export const PORT_NAMES = [
  'smtp',
  'submission',
  'smtps',
  'imap',
  'imaps',
  'pop3',
  'pop3s',
  'http',
  'https',
] as const;
export type PortName = (typeof PORT_NAMES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto` means the Pi's devices when present, else the in-memory panel. */
export const PANEL_DRIVERS = ['auto', 'pi', 'memory', 'none'] as const;
export type PanelDriver = (typeof PANEL_DRIVERS)[number];

export type PortsConfig = { readonly [name in PortName]: number };

export interface DnsConfig {
  /** `"IP"`, `"IP:port"` or `"[IPv6]:port"`; empty means the system resolver. See parseDnsServer. */
  readonly servers: readonly string[];
}

export interface DeliveryConfig {
  /** Only tests change this, to run a remote MX on an unprivileged port. */
  readonly mxPort: number;
  /** The whole greeting of a remote server, however it trickles in (RFC 5321 4.5.3.2.1). */
  readonly greetingTimeoutSeconds: number;
  /** The whole reply to each command (EHLO, STARTTLS and its handshake, AUTH, MAIL, RCPT, DATA, RSET). */
  readonly replyTimeoutSeconds: number;
  /** Bytes per second a message body must average going out, on top of replyTimeoutSeconds for it all. */
  readonly minDataRate: number;
  /** The reply after the message's final dot (RFC 5321 4.5.3.2.6). */
  readonly finalReplyTimeoutSeconds: number;
  /** Per DNS query try (two are made); c-ares allows at most 5. */
  readonly dnsTimeoutSeconds: number;
  /** All the DNS look-ups of one destination together: the MX and every exchange's addresses. */
  readonly resolveTimeoutSeconds: number;
}

export interface PanelConfig {
  readonly driver: PanelDriver;
}

export interface LogConfig {
  readonly level: LogLevel;
}

export interface SmtpConfig {
  /** Bytes; advertised in EHLO SIZE (RFC 1870). */
  readonly maxMessageSize: number;
  readonly maxRecipients: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly socketTimeoutSeconds: number;
  /** Delay before answering the first failed AUTH; doubles on each further failure from the same address. */
  readonly authFailureDelayMs: number;
  /** Ceiling for that doubling, so a slow client is delayed, never hung. */
  readonly authFailureMaxDelayMs: number;
  /** After this many failures from one address within the window, AUTH gets a temporary refusal. */
  readonly authFailureLimit: number;
  readonly authFailureWindowSeconds: number;
  /**
   * Failures against one account within the window, from addresses that have not logged in to it lately,
   * after which such addresses get a temporary refusal for that account (addresses it knows still log in).
   */
  readonly authAccountFailureLimit: number;
  /** How long an address that logged in to an account stays known to that account. */
  readonly authKnownAddressSeconds: number;
  /** Failed AUTH commands on one connection before it is closed with 421 4.7.0. */
  readonly authFailuresPerConnection: number;
  /** An implicit-TLS (465) connection must finish its handshake this soon after it is accepted. */
  readonly tlsHandshakeSeconds: number;
  /** Time for a whole command line to arrive after our last reply, however it trickles in. */
  readonly commandTimeoutSeconds: number;
  /** Average bytes per second DATA must keep up after its first minute. */
  readonly minDataRate: number;
  /** Longest a connection may stay, whatever it does. */
  readonly sessionTimeoutSeconds: number;
  /** NOOP, RSET, HELP, VRFY, EXPN, HELO and EHLO allowed per connection, as Postfix's smtpd_junk_command_limit. */
  readonly junkCommandLimit: number;
  /** Unknown recipients on one connection before replies slow down (directory harvesting). */
  readonly unknownRecipientsBeforeDelay: number;
  /** Unknown recipients on one connection before it is closed with 421. */
  readonly unknownRecipientLimit: number;
}

export interface QueueConfig {
  readonly retryFirstSeconds: number;
  readonly retryMaxSeconds: number;
  /** Age after which the sender gets a delay warning DSN. */
  readonly warnAfterSeconds: number;
  /** Age after which undelivered recipients bounce. */
  readonly expireAfterSeconds: number;
  readonly maxInFlight: number;
  readonly maxInFlightPerDomain: number;
  readonly connectTimeoutSeconds: number;
  readonly commandTimeoutSeconds: number;
}

export interface ImapConfig {
  /** Bytes: the largest literal, so the largest APPEND (RFC 7889 APPENDLIMIT). */
  readonly maxMessageSize: number;
  /** Bytes of one command outside its literals. */
  readonly maxLineLength: number;
  /** BAD answers on one connection before it is closed with `* BYE`. */
  readonly maxBadCommands: number;
  /** Failed LOGIN/AUTHENTICATE on one connection before it is closed with `* BYE` (SMTP's authFailuresPerConnection). */
  readonly loginFailuresPerConnection: number;
  /** Autologout after this long without a word from the client (RFC 3501 5.4: at least 30 minutes). */
  readonly idleTimeoutSeconds: number;
  readonly maxSessionsPerUser: number;
  /** Connections from one client address, on 143 and 993 together. */
  readonly maxConnectionsPerAddress: number;
}

export interface Config {
  /** Always absolute once loaded. */
  readonly dataDir: string;
  /** Our name in greetings, Received: headers and DSNs. */
  readonly hostname: string;
  /** Addresses every enabled listener binds to. */
  readonly listen: readonly string[];
  readonly ports: PortsConfig;
  readonly dns: DnsConfig;
  readonly delivery: DeliveryConfig;
  readonly panel: PanelConfig;
  readonly log: LogConfig;
  readonly smtp: SmtpConfig;
  readonly queue: QueueConfig;
  readonly imap: ImapConfig;
}
