// Small pieces the delivery tests share: a pino logger that writes into a string, and agent settings
// with test-sized timeouts. The messages they deliver are made by messages.ts (`outbound`).
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { RelaySettings } from '../../src/core/types.js';
import type { DeliverySettings } from '../../src/delivery/index.js';
import { DOMAIN, HOSTNAME } from './addresses.js';

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
    hostname: HOSTNAME,
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
      isLocalDomain: async (domain: string) => (options.localDomains ?? [DOMAIN]).includes(domain),
      log,
      ...(options.now ? { now: options.now } : {}),
    },
  };
}
