// Built-in defaults. A config file only needs the keys it changes; the loader merges it over one of
// these. Each call returns a fresh object so a caller may merge into it without touching the next one.
import os from 'node:os';
import type { Config, DeliveryConfig, ImapConfig, QueueConfig, SmtpConfig } from './schema.js';

function smtpDefaults(): SmtpConfig {
  return {
    maxMessageSize: 52_428_800, // 50 MiB
    maxRecipients: 100,
    maxConnections: 200,
    maxConnectionsPerClient: 20,
    socketTimeoutSeconds: 300, // RFC 5321 4.5.3.2.7 asks a server to wait at least 5 minutes
    authFailureDelayMs: 1_000,
    authFailureMaxDelayMs: 16_000,
    authFailureLimit: 10,
    authFailureWindowSeconds: 900,
    authAccountFailureLimit: 20,
    authKnownAddressSeconds: 2_592_000, // 30 days
    authFailuresPerConnection: 3,
    tlsHandshakeSeconds: 10,
    commandTimeoutSeconds: 300, // RFC 5321 4.5.3.2.7
    minDataRate: 16_384, // 50 MiB in 53 minutes, inside the session limit; Postfix asks 500 B/s but has no session limit
    sessionTimeoutSeconds: 3600,
    junkCommandLimit: 100,
    unknownRecipientsBeforeDelay: 3,
    unknownRecipientLimit: 20,
  };
}

function queueDefaults(): QueueConfig {
  return {
    retryFirstSeconds: 300,
    retryMaxSeconds: 3_600,
    warnAfterSeconds: 14_400, // 4 hours
    expireAfterSeconds: 432_000, // 5 days, RFC 5321 4.5.4.1 suggests 4-5
    maxInFlight: 20,
    maxInFlightPerDomain: 4,
    connectTimeoutSeconds: 30,
    commandTimeoutSeconds: 300,
  };
}

function imapDefaults(): ImapConfig {
  return {
    maxMessageSize: smtpDefaults().maxMessageSize, // what SMTP takes in, APPEND takes too
    maxLineLength: 65_536, // Dovecot's imap_max_line_length
    maxBadCommands: 20,
    loginFailuresPerConnection: 3,
    idleTimeoutSeconds: 1_800, // RFC 3501 5.4: at least 30 minutes
    maxSessionsPerUser: 20,
    maxConnectionsPerAddress: 50,
  };
}

function deliveryDefaults(): DeliveryConfig {
  return {
    mxPort: 25,
    greetingTimeoutSeconds: 300, // RFC 5321 4.5.3.2.1
    replyTimeoutSeconds: 300, // RFC 5321 4.5.3.2.2-3 (MAIL, RCPT)
    minDataRate: 4096, // 10 MB in 40 minutes; a server reading a byte a second gives the slot back
    finalReplyTimeoutSeconds: 600, // RFC 5321 4.5.3.2.6
    dnsTimeoutSeconds: 5, // c-ares's most
    resolveTimeoutSeconds: 60,
  };
}

/** What an installed appliance runs with: standard ports on every address. */
export function applianceDefaults(): Config {
  return {
    dataDir: '/var/lib/letterbox',
    hostname: os.hostname(),
    listen: ['0.0.0.0', '::'],
    ports: {
      smtp: 25,
      submission: 587,
      smtps: 465,
      imap: 143,
      imaps: 993,
      pop3: 110,
      pop3s: 995,
      http: 80,
      https: 443,
    },
    dns: { servers: [] },
    delivery: deliveryDefaults(),
    panel: { driver: 'auto' },
    log: { level: 'info' },
    smtp: smtpDefaults(),
    queue: queueDefaults(),
    imap: imapDefaults(),
  };
}

/**
 * What `serve --dev` runs with: unprivileged ports (the standard one plus 2000, or 8000 for the web),
 * loopback only so a laptop is not an open relay on the café network, and the simulated panel.
 */
export function developmentDefaults(): Config {
  return {
    dataDir: './data',
    hostname: 'localhost',
    listen: ['127.0.0.1'],
    ports: {
      smtp: 2525,
      submission: 2587,
      smtps: 2465,
      imap: 2143,
      imaps: 2993,
      pop3: 2110,
      pop3s: 2995,
      http: 8080,
      https: 8443,
    },
    dns: { servers: [] },
    delivery: deliveryDefaults(),
    panel: { driver: 'memory' },
    log: { level: 'info' },
    smtp: smtpDefaults(),
    queue: queueDefaults(),
    imap: imapDefaults(),
  };
}
