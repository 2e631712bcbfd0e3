// An ImapServer (src/imap/server.ts) on free loopback ports with a test certificate and a backend of
// the test's choosing (the fake of imap-fake-backend.ts by default), stopped at the test's end.
import { pino, type Logger } from 'pino';
import type { Test } from 'tap';
import { EventBus } from '../../src/core/events.js';
import type { ImapBackend } from '../../src/imap/backend.js';
import type { AnyCommand } from '../../src/imap/dispatch.js';
import { ImapServer, type ImapSettings } from '../../src/imap/server.js';
import { makeCa, makeServerCertificate } from './certificates.js';
import { FakeBackend } from './imap-fake-backend.js';

export const ALICE = 'alice@example.test';
export const ALICE_PASSWORD = 'alice-secret';

export const TEST_SETTINGS: ImapSettings = {
  maxMessageSize: 1024 * 1024,
  maxLineLength: 65_536,
  maxBadCommands: 20,
  loginFailuresPerConnection: 3,
  idleTimeoutSeconds: 1800,
  maxSessionsPerUser: 20,
  maxConnectionsPerAddress: 50,
};

let certificate: Promise<{ cert: string; key: string }> | null = null;

/** One certificate for all the servers of a test file (EC keys are quick, but not free). */
export function testCertificate(): Promise<{ cert: string; key: string }> {
  certificate ??= makeCa().then((ca) => makeServerCertificate(ca, 'localhost', 2));
  return certificate;
}

export interface TestImapServer {
  server: ImapServer;
  backend: ImapBackend;
  ports: { imap: number; imaps: number };
  events: { service: string; kind: 'listening' | 'stopped' }[];
}

export interface TestServerOptions {
  settings?: Partial<ImapSettings>;
  backend?: ImapBackend;
  /** Which addresses count as local (default: loopback, so LOGIN works before TLS). */
  isLocal?: (address: string) => boolean;
  log?: Logger;
  /** The command registry (default: the full one). */
  commands?: ReadonlyMap<string, AnyCommand>;
}

export async function startImapServer(t: Test, options: TestServerOptions = {}): Promise<TestImapServer & { fake: FakeBackend }> {
  const fake = new FakeBackend({ [ALICE]: ALICE_PASSWORD, 'bob@example.test': 'bob-secret' });
  const backend = options.backend ?? fake;
  const bus = new EventBus();
  const events: TestImapServer['events'] = [];
  bus.on('service.listening', ({ service }) => events.push({ service, kind: 'listening' }));
  bus.on('service.stopped', ({ service }) => events.push({ service, kind: 'stopped' }));
  const server = new ImapServer(
    { ...TEST_SETTINGS, ...options.settings },
    { backend, bus, log: options.log ?? pino({ level: 'silent' }), tls: await testCertificate(), ...(options.isLocal ? { isLocal: options.isLocal } : {}), ...(options.commands ? { commands: options.commands } : {}) },
  );
  const bound = await server.listen([
    { listener: 'imap', host: '127.0.0.1', port: 0 },
    { listener: 'imaps', host: '127.0.0.1', port: 0 },
  ]);
  t.teardown(() => server.close(1_000));
  const port = (listener: string) => bound.find((e) => e.listener === listener)?.port as number;
  return { server, backend, fake, ports: { imap: port('imap'), imaps: port('imaps') }, events };
}
