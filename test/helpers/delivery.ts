// Small pieces the delivery tests share: outbound messages as the queue would hand them over, a pino
// logger that writes into a string, and agent settings with test-sized timeouts.
import { Readable, Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { OutboundMessage } from '../../src/core/interfaces.js';
import type { RecipientDsn, RelaySettings } from '../../src/core/types.js';
import type { DeliverySettings } from '../../src/delivery/index.js';

let serial = 0;

export interface MessageOptions {
  sender?: string;
  recipients: (string | { address: string; dsn?: RecipientDsn })[];
  subject?: string;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
}

export function outbound(options: MessageOptions): OutboundMessage & { bytes: Buffer } {
  const queueId = `q${++serial}`;
  const sender = options.sender ?? 'alice@letterbox.test';
  const recipients = options.recipients.map((r) => (typeof r === 'string' ? { address: r } : r));
  const text = [
    `From: <${sender || 'mailer-daemon@letterbox.test'}>`,
    `To: ${recipients.map((r) => `<${r.address}>`).join(', ')}`,
    `Subject: ${options.subject ?? `test ${queueId}`}`,
    `Message-ID: <${queueId}.${process.pid}@letterbox.test>`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0000',
    '',
    `Body of ${queueId}.`,
    '',
  ].join('\r\n');
  const bytes = Buffer.from(text);
  return {
    queueId,
    sender,
    recipients,
    size: bytes.length,
    ...(options.ret ? { ret: options.ret } : {}),
    ...(options.envid ? { envid: options.envid } : {}),
    open: () => Readable.from([bytes]),
    bytes,
  };
}

/** A pino logger at `trace` whose every line lands in `text()`. */
export function capturedLog(): { log: Logger; text(): string; lines(): Record<string, unknown>[] } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const log = pino({ level: 'trace' }, sink);
  return {
    log,
    text: () => text,
    lines: () => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export function deliverySettings(dnsServer: string, mxPort: number, extra: Partial<DeliverySettings> = {}): DeliverySettings {
  return {
    hostname: 'mx.letterbox.test',
    dnsServers: [dnsServer],
    mxPort,
    connectTimeoutSeconds: 5,
    commandTimeoutSeconds: 10,
    dnsTimeoutSeconds: 1,
    ...extra,
  };
}

/** deps for createDeliveryAgent with a relay the test may change between calls. */
export function deliveryDeps(log: Logger, options: { relay?: RelaySettings; localDomains?: string[]; now?: () => number } = {}) {
  const state = { relay: options.relay };
  return {
    state,
    deps: {
      getRelay: async () => state.relay,
      isLocalDomain: async (domain: string) => (options.localDomains ?? ['letterbox.test']).includes(domain),
      log,
      ...(options.now ? { now: options.now } : {}),
    },
  };
}
