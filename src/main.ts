// Wiring and lifecycle: config -> log -> store -> queue and delivery -> SMTP -> IMAP -> admin socket
// (-> panel -> web, in later issues). The only place that builds concrete things; stop() takes them
// down in reverse order.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { prepareDataDir, type Config } from './config/index.js';
import type { DeliveryOutcome, RelaySettings, StoreCheckReport } from './core/types.js';
import { EventBus } from './core/events.js';
import { LoginGuard, settingsPersistence } from './core/login-guard.js';
import { DeliveryLedger } from './admin/delivery-ledger.js';
import { RELAY_SETTING, readRelayCa, relayCaPath } from './admin/relay.js';
import type { DoctorSetup } from './admin/doctor/index.js';
import { adminSocketPath, startAdminSocket } from './admin/socket.js';
import { createDeliveryAgent, testRelay } from './delivery/index.js';
import { QueueScheduler } from './queue/scheduler.js';
import { SmtpService, type SmtpEndpoint } from './smtp/server.js';
import { ImapServer, type ImapEndpoint } from './imap/server.js';
import { createImapBackend, envelopeSummary } from './mailbox/index.js';
import { Store } from './store/index.js';
import { MimeIndexer } from './mailbox/mime/index.js';
import { certificatePath, loadOrCreateCertificate } from './tls/certificate.js';
import { STORAGE_RESERVE } from './smtp/storage.js';

export interface Appliance {
  store: Store;
  bus: EventBus;
  endpoints: SmtpEndpoint[];
  imapEndpoints: ImapEndpoint[];
  stop(): Promise<void>;
}

export function storePath(dataDir: string): string {
  return join(dataDir, 'store');
}

/** What `letterbox doctor` needs of the configuration, for the CLI's own run and the service's. */
export function doctorSetup(config: Config): DoctorSetup {
  return {
    hostname: config.hostname,
    dnsServers: config.dns.servers,
    dnsTimeoutMs: config.delivery.dnsTimeoutSeconds * 1000,
    certificatePath: certificatePath(config.dataDir),
    storePath: storePath(config.dataDir),
    storeReserveBytes: STORAGE_RESERVE,
  };
}

function deliverySettings(config: Config, relayCa: string | undefined) {
  return {
    hostname: config.hostname,
    dnsServers: config.dns.servers,
    ...config.delivery,
    connectTimeoutSeconds: config.queue.connectTimeoutSeconds,
    commandTimeoutSeconds: config.queue.commandTimeoutSeconds,
    ...(relayCa ? { relayCa } : {}),
  };
}

/** `letterbox relay test`: a short message through the configured smarthost. */
export function relayTester(config: Config, store: Store, log: Logger): (to: string) => Promise<DeliveryOutcome> {
  return async (to) => {
    const relay = await store.getSetting<RelaySettings>(RELAY_SETTING);
    if (!relay) throw new Error('no smarthost is set');
    const relayCa = await readRelayCa(config.dataDir);
    return testRelay(deliverySettings(config, relayCa), relay, to, `postmaster@${config.hostname}`, log);
  };
}

/**
 * A young-generation collection on demand, for the SMTP service to call while a large message streams
 * through (see src/smtp/receive.ts). V8 exposes `gc` only to contexts made after --expose-gc is set.
 */
function youngGenerationCollector(log: Logger): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;
    return () => gc({ type: 'minor' });
  } catch (err) {
    log.warn({ err }, 'no garbage collection on demand; large messages will use more memory');
    return undefined;
  }
}

export async function startAppliance(config: Config, log: Logger): Promise<Appliance> {
  const startedAt = Date.now();
  await prepareDataDir(config.dataDir);
  const store = await Store.open(storePath(config.dataDir), { indexer: () => new MimeIndexer(), summarize: envelopeSummary });
  if (store.swept > 0) log.warn({ swept: store.swept }, 'discarded messages whose transfer was interrupted by a crash');
  await checkAtStart(store, log).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const bus = new EventBus((err, event) => log.error({ err, event }, 'event listener failed'));
  // Listens from the start, so the first attempts after a restart are counted for `letterbox status` too.
  const ledger = new DeliveryLedger(bus);
  const stack: (() => Promise<void>)[] = [() => store.close()];
  const stop = async () => {
    for (const step of stack.reverse()) await step().catch((err: unknown) => log.error({ err }, 'error while stopping'));
    stack.length = 0;
  };
  try {
    const tls = await loadOrCreateCertificate(config.dataDir, config.hostname);
    if (tls.replaced) log.warn({ path: tls.certPath, problem: tls.replaced }, 'the TLS certificate could not be used: set it aside as *.pem.bad and made a self-signed one');
    if (tls.created) log.info({ path: tls.certPath, hostname: config.hostname }, 'created a self-signed certificate');

    const relayCa = await readRelayCa(config.dataDir);
    if (relayCa) log.info({ path: relayCaPath(config.dataDir) }, 'trusting extra CA certificates for the smarthost');
    // Read again at each smarthost session: `relay set --ca` applies without a restart.
    const agent = createDeliveryAgent(deliverySettings(config, undefined), {
      getRelay: () => store.getSetting<RelaySettings>(RELAY_SETTING),
      getRelayCa: () => readRelayCa(config.dataDir),
      isLocalDomain: (domain) => store.directory.isLocalDomain(domain),
      log: log.child({ svc: 'delivery' }),
    });
    const scheduler = new QueueScheduler(
      { hostname: config.hostname, ...config.queue },
      { queue: store, mail: store, directory: store.directory, agent, bus, log },
    );
    // Started before SMTP listens: new mail comes in through its intake from the first message on.
    await scheduler.start();
    stack.push(() => scheduler.stop(10_000));

    // One guard for every service that takes a password, its state kept in the store across restarts.
    const loginGuard = new LoginGuard(config.smtp, settingsPersistence(store), Date.now, (err) => log.error({ err }, 'could not save the failed-login state'));
    await loginGuard.load();
    stack.push(() => loginGuard.stop());

    const smtp = new SmtpService(
      { hostname: config.hostname, ...config.smtp },
      { directory: store.directory, authenticator: store.directory, loginGuard, store, intake: scheduler.intake, bus, log, tls, reclaimMemory: youngGenerationCollector(log) },
    );
    stack.push(() => smtp.stop(10_000));
    const endpoints = await smtp.listen(smtpEndpoints(config));

    // IMAP on the same store and login guard (so guessing over IMAP counts against SMTP AUTH too);
    // closed before the store, after telling its clients BYE.
    const imapBackend = createImapBackend({ folders: store, mail: store, authenticator: store.directory, loginGuard, appendLimit: config.imap.maxMessageSize, log: log.child({ svc: 'imap' }) });
    stack.push(async () => imapBackend.stop());
    const imap = new ImapServer(config.imap, { backend: imapBackend, bus, log, tls });
    stack.push(() => imap.close(10_000));
    const imapBound = await imap.listen(imapEndpoints(config));

    const admin: Server = await startAdminSocket(
      adminSocketPath(config.dataDir),
      {
        directory: store.directory,
        queue: scheduler,
        settings: store,
        dataDir: config.dataDir,
        testRelay: relayTester(config, store, log),
        doctor: doctorSetup(config),
        // The running scheduler holds queue entries in memory: a damaged one leaves through it.
        checkStore: () => store.check({ bodies: true, removeQueueEntry: (id) => scheduler.remove(id) }),
        live: {
          startedAt,
          services: () => [...endpoints, ...imapBound].map((e) => ({ service: e.listener, address: e.host, port: e.port })),
          outboundBlocked: () => agent.outboundBlocked,
          lastDeliveryAt: () => scheduler.lastDeliveryAt,
          deliveries: () => ledger.tally(),
        },
      },
      log,
    );
    stack.push(() => new Promise<void>((resolve) => admin.close(() => resolve())));

    log.info({ endpoints, imapEndpoints: imapBound, dataDir: config.dataDir, hostname: config.hostname }, 'letterbox ready');
    return { store, bus, endpoints, imapEndpoints: imapBound, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Verifies the store before anything is served: every message read whole after a stop that was not
 * clean (a crash or a power cut), the records alone otherwise; then marks it in use.
 */
async function checkAtStart(store: Store, log: Logger): Promise<void> {
  const report = await store.check({ bodies: store.uncleanStop });
  const summary = checkSummary(report);
  if (!report.consistent) log.warn({ check: summary, damaged: report.damaged }, 'the store check repaired the store; damaged messages were set aside');
  else log.info({ check: summary, uncleanStop: store.uncleanStop }, 'store checked');
  await store.markRunning();
}

function checkSummary(report: StoreCheckReport) {
  const { damaged, countersFixed, ...counts } = report;
  return { ...counts, damaged: damaged.length, countersFixed: countersFixed.length };
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

function imapEndpoints(config: Config): ImapEndpoint[] {
  const listeners = [
    ['imap', config.ports.imap],
    ['imaps', config.ports.imaps],
  ] as const;
  return listeners
    .filter(([, port]) => port !== 0)
    .flatMap(([listener, port]) => config.listen.map((host) => ({ listener, host, port })));
}
