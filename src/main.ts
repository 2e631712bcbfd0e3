// Wiring and lifecycle: config -> log -> store -> services (-> panel -> web, in later issues).
// The only place that builds concrete things; stop() takes them down in reverse order.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import { EventBus } from './core/events.js';
import { LetterboxError } from './core/errors.js';
import type { DeliveryOutcome } from './core/types.js';
import { OfflineQueue } from './queue/operations.js';
import { systemClock } from './queue/clock.js';
import { adminSocketPath, startAdminSocket } from './admin/socket.js';
import { SmtpService, type SmtpEndpoint } from './smtp/server.js';
import { Store } from './store/index.js';
import { loadOrCreateCertificate } from './tls/certificate.js';

export interface Appliance {
  store: Store;
  bus: EventBus;
  endpoints: SmtpEndpoint[];
  stop(): Promise<void>;
}

// Interim until delivery lands in this tree.
export function relayTester(_config: Config, _store: Store, _log: Logger): (to: string) => Promise<DeliveryOutcome> {
  return async () => {
    throw new LetterboxError('INVALID', 'relay test is not available yet');
  };
}

export function storePath(dataDir: string): string {
  return join(dataDir, 'store');
}

export async function startAppliance(config: Config, log: Logger): Promise<Appliance> {
  const startedAt = Date.now();
  await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
  const store = await Store.open(storePath(config.dataDir));
  if (store.swept > 0) log.warn({ swept: store.swept }, 'discarded messages whose transfer was interrupted by a crash');
  const bus = new EventBus((err, event) => log.error({ err, event }, 'event listener failed'));
  const stack: (() => Promise<void>)[] = [() => store.close()];
  const stop = async () => {
    for (const step of stack.reverse()) await step().catch((err: unknown) => log.error({ err }, 'error while stopping'));
    stack.length = 0;
  };
  try {
    const tls = await loadOrCreateCertificate(config.dataDir, config.hostname);
    if (tls.created) log.info({ path: tls.certPath, hostname: config.hostname }, 'created a self-signed certificate');

    const smtp = new SmtpService(
      { hostname: config.hostname, ...config.smtp },
      { directory: store.directory, authenticator: store.directory, store, bus, log, tls },
    );
    stack.push(() => smtp.stop(10_000));
    const endpoints = await smtp.listen(smtpEndpoints(config));

    const admin: Server = await startAdminSocket(
      adminSocketPath(config.dataDir),
      {
        directory: store.directory,
        queue: new OfflineQueue({ queue: store, mail: store, directory: store.directory, log, hostname: config.hostname }, systemClock),
        settings: store,
        dataDir: config.dataDir,
        testRelay: relayTester(config, store, log),
        live: { startedAt, services: () => endpoints.map((e) => ({ service: e.listener, address: e.host, port: e.port })), outboundBlocked: () => false, lastDeliveryAt: () => undefined },
      },
      log,
    );
    stack.push(() => new Promise<void>((resolve) => admin.close(() => resolve())));

    log.info({ endpoints, dataDir: config.dataDir, hostname: config.hostname }, 'letterbox ready');
    return { store, bus, endpoints, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function smtpEndpoints(config: Config): SmtpEndpoint[] {
  const listeners = [
    ['mx', config.ports.smtp],
    ['submission', config.ports.submission],
    ['smtps', config.ports.smtps],
  ] as const;
  return listeners
    .filter(([, port]) => port !== 0)
    .flatMap(([listener, port]) => config.listen.map((host) => ({ listener, host, port })));
}
