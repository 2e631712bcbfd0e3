// The DNS of each local domain, as receivers on the internet see it: MX (RFC 5321 5.1) points at this
// box, SPF (RFC 7208) allows the hosts the box's mail leaves from, DMARC (RFC 7489) exists.
import { ok, problem, warning, type Finding } from './findings.js';
import { emptyReason, recordsOf, sameName, type DoctorDns } from './lookup.js';
import { evaluateSpf, findSpfRecord, includedDomains } from './spf.js';

/** Where the box's mail leaves from, found once for every domain's checks. */
export interface Senders {
  hostname: string;
  /** The hostname's A and AAAA records. */
  hostAddresses: string[];
  /** Whether mail leaves directly (no smarthost, or one used only as a fallback). */
  direct: boolean;
  /** The smarthost in use (mode fallback or always), with its addresses. */
  smarthost?: { host: string; addresses: string[] };
}

export async function checkMx(dns: DoctorDns, domain: string, senders: Senders): Promise<Finding> {
  const answer = await dns.mx(domain);
  const exchanges = recordsOf(answer)
    .filter((r) => r.exchange !== '' && r.exchange !== '.')
    .sort((a, b) => a.priority - b.priority);
  const fix = `set the MX record of ${domain} to ${senders.hostname}`;
  if ('failure' in answer) return warning('mx', domain, `could not look up the MX of ${domain}: ${emptyReason(answer)}`, 'check dns.servers and the network, then run doctor again');
  if (exchanges.length === 0) return problem('mx', domain, `${domain} has no MX record: ${emptyReason(answer)}`, fix);
  const names = exchanges.map((r) => `${r.exchange} (${r.priority})`).join(', ');
  const ours = await Promise.all(exchanges.map((r) => pointsHere(dns, r.exchange, senders)));
  if (ours[0]) return ok('mx', domain, `MX is ${names}: this host`);
  if (ours.some(Boolean)) return warning('mx', domain, `MX is ${names}: this host is not the first choice`, `give ${senders.hostname} the lowest preference, unless the first one is a backup that forwards here`);
  return problem('mx', domain, `MX is ${names}, not this host: mail for ${domain} goes elsewhere`, fix);
}

/** An exchange that is the hostname, or a name with the same addresses (another name for this box). */
async function pointsHere(dns: DoctorDns, exchange: string, senders: Senders): Promise<boolean> {
  if (sameName(exchange, senders.hostname)) return true;
  if (senders.hostAddresses.length === 0) return false;
  const theirs = recordsOf(await dns.addresses(exchange));
  return theirs.length > 0 && theirs.every((address) => senders.hostAddresses.includes(address));
}

export async function checkSpf(dns: DoctorDns, domain: string, senders: Senders): Promise<Finding> {
  const found = await findSpfRecord(dns, domain);
  const suggestion = `"v=spf1 ${senders.direct ? 'mx ' : ''}${senders.smarthost ? 'include:<your smarthost provider\'s SPF domain> ' : ''}-all"`;
  if ('temperror' in found) return warning('spf', domain, `could not look up the SPF record: ${found.temperror}`, 'check dns.servers and the network, then run doctor again');
  if ('none' in found) return problem('spf', domain, `${domain} has no SPF record (TXT "v=spf1 ...")`, `add a TXT record at ${domain}: ${suggestion}; receivers junk or refuse mail without one`);
  if ('permerror' in found) return problem('spf', domain, found.permerror, `merge them into one TXT record at ${domain}: ${suggestion}`);
  const refused: string[] = [];
  if (senders.direct) refused.push(...(await refusedSenders(dns, domain, senders.hostname, senders.hostAddresses)));
  if (senders.smarthost && !providerIncluded(found.record, senders.smarthost.host)) {
    refused.push(...(await refusedSenders(dns, domain, `smarthost ${senders.smarthost.host}`, senders.smarthost.addresses)));
  }
  const checked = 'a, mx, ip4, ip6, include and redirect evaluated';
  if (refused.length === 0) return ok('spf', domain, `"${found.record}" allows ${sendersText(senders)} (${checked})`);
  return problem('spf', domain, `"${found.record}" does not allow ${refused.join('; ')}`, `change the TXT record at ${domain} so it allows them, for instance ${suggestion}`);
}

function sendersText(senders: Senders): string {
  const hosts = [...(senders.direct ? [senders.hostname] : []), ...(senders.smarthost ? [`smarthost ${senders.smarthost.host}`] : [])];
  return hosts.join(' and ');
}

/** `sender (address: result, why)` for each address that would not get `pass`. */
async function refusedSenders(dns: DoctorDns, domain: string, sender: string, addresses: string[]): Promise<string[]> {
  if (addresses.length === 0) return [`${sender} (it has no address to check)`];
  const verdicts = await Promise.all(addresses.map(async (address) => ({ address, verdict: await evaluateSpf(dns, domain, address) })));
  return verdicts.filter(({ verdict }) => verdict.result !== 'pass').map(({ address, verdict }) => `${sender} ${address} (${verdict.result}: ${verdict.why})`);
}

/**
 * A smarthost sends from its provider's outbound servers, not from the address we connect to, so an
 * `include:` of the provider's domain counts: the included domain and the smarthost share their last
 * two labels (smtp.provider.example and _spf.provider.example). A heuristic, named as such nowhere
 * else: without the Public Suffix List, two labels is the best guess.
 */
function providerIncluded(record: string, smarthost: string): boolean {
  const parent = (name: string) => name.toLowerCase().replace(/\.$/, '').split('.').slice(-2).join('.');
  return includedDomains(record).some((domain) => parent(domain) === parent(smarthost));
}

export async function checkDmarc(dns: DoctorDns, domain: string): Promise<Finding> {
  const name = `_dmarc.${domain}`;
  const answer = await dns.txt(name);
  const advice = `add a TXT record at ${name}: "v=DMARC1; p=none; rua=mailto:postmaster@${domain}" (RFC 7489 6.3), later p=quarantine`;
  if ('failure' in answer) return warning('dmarc', domain, `could not look up ${name}: ${emptyReason(answer)}`, 'check dns.servers and the network, then run doctor again');
  // RFC 7489 6.6.3: records that do not start with "v=DMARC1" are ignored; more than one means none applies.
  const records = recordsOf(answer).filter((text) => /^v=DMARC1\s*(;|$)/.test(text));
  if (records.length === 0) return warning('dmarc', domain, `${domain} has no DMARC record at ${name}`, advice);
  if (records.length > 1) return warning('dmarc', domain, `${name} has ${records.length} DMARC records, so none applies (RFC 7489 6.6.3)`, `keep one TXT record at ${name}`);
  const policy = /(?:^|;)\s*p\s*=\s*(\w+)/.exec(records[0] as string)?.[1] ?? '(no p=)';
  return ok('dmarc', domain, `DMARC policy p=${policy}: "${records[0]}"`);
}
