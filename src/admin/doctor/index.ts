// `letterbox doctor`: checks the setup around the box, as Mail-in-a-Box's status checks do, and says
// for each finding what to do. Runs as an admin operation, so inside `serve` (through the admin socket)
// it sees the live listeners and the "port 25 blocked" state; offline it reports those as unknown.
import { LetterboxError } from '../../core/errors.js';
import type { RelaySettings } from '../../core/types.js';
import type { AdminContext } from '../api.js';
import { RELAY_SETTING } from '../relay.js';
import { checkCertificate } from './certificate-check.js';
import { checkDmarc, checkMx, checkSpf, type Senders } from './domain-checks.js';
import { problem, report, warning, type DoctorReport, type Finding } from './findings.js';
import { checkHostname, checkOutbound, checkReverseDns, checkSmarthost } from './host-checks.js';
import { DoctorDns } from './lookup.js';
import { checkClock, checkDisk, checkListener } from './system-checks.js';

export type { DoctorReport, DoctorSetup, Finding } from './findings.js';
export { doctorLines } from './output.js';

/** A check that fails unexpectedly is reported as one, not allowed to end the whole report. */
async function guarded(check: string, subject: string, run: () => Promise<Finding | Finding[]>): Promise<Finding[]> {
  try {
    const found = await run();
    return Array.isArray(found) ? found : [found];
  } catch (err) {
    return [warning(check, subject, `the check failed: ${(err as Error).message}`, 'run doctor again; if it keeps failing, look at the service log')];
  }
}

export async function runDoctor(ctx: AdminContext): Promise<DoctorReport> {
  const setup = ctx.doctor;
  if (!setup) throw new LetterboxError('INVALID', 'doctor is not available here');
  const dns = new DoctorDns(setup.dnsServers, setup.dnsTimeoutMs);
  const relay = await ctx.settings.getSetting<RelaySettings>(RELAY_SETTING);
  const [host, smarthost] = await Promise.all([
    checkHostname(dns, setup.hostname),
    relay ? checkSmarthost(dns, relay) : undefined,
  ]);
  const usable = relay && relay.mode !== 'never' ? relay : undefined;
  const senders: Senders = {
    hostname: setup.hostname,
    hostAddresses: host.addresses,
    direct: usable?.mode !== 'always',
    ...(usable ? { smarthost: { host: usable.host, addresses: smarthost?.addresses ?? [] } } : {}),
  };
  const groups = await Promise.all([
    domainFindings(ctx, dns, senders),
    [host.finding],
    ...host.addresses.map((address) => guarded('ptr', address, () => checkReverseDns(dns, setup.hostname, address))),
    [checkOutbound(ctx.live?.outboundBlocked(), relay)],
    smarthost ? [smarthost.finding] : [],
    guarded('tls', setup.hostname, () => checkCertificate(setup.certificatePath, setup.hostname, Date.now())),
    guarded('clock', 'NTP', checkClock),
    guarded('disk', ctx.dataDir, () => checkDisk(ctx.dataDir, setup.storePath, setup.storeReserveBytes)),
    listenerFindings(ctx),
  ]);
  return report(setup.hostname, groups.flat());
}

async function domainFindings(ctx: AdminContext, dns: DoctorDns, senders: Senders): Promise<Finding[]> {
  const domains = await ctx.directory.listDomains();
  if (domains.length === 0) return [problem('domain', '(none)', 'this box has no mail domain yet', 'add one: letterbox domain add example.com')];
  const perDomain = await Promise.all(
    domains.map((domain) =>
      Promise.all([
        guarded('mx', domain, () => checkMx(dns, domain, senders)),
        guarded('spf', domain, () => checkSpf(dns, domain, senders)),
        guarded('dmarc', domain, () => checkDmarc(dns, domain)),
      ]),
    ),
  );
  return perDomain.flat(2);
}

async function listenerFindings(ctx: AdminContext): Promise<Finding[]> {
  if (!ctx.live) return [warning('listener', 'serve', 'letterbox serve is not running: no listener answers', 'start it: systemctl start letterbox (or letterbox serve)')];
  const listeners = ctx.live.services();
  if (listeners.length === 0) return [warning('listener', 'serve', 'every listener is switched off (ports set to 0)', 'set the ports in the configuration file')];
  return Promise.all(listeners.map(checkListener));
}
