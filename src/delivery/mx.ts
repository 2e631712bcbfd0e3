// Where mail for a domain goes: the MX look-up of RFC 5321 5.1 through the configured resolver
// (`dns.servers`), with the implicit MX and the null MX of RFC 7505.
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { domainToASCII } from 'node:url';

export interface MailHost {
  /** The exchange's name (the domain itself for the implicit MX), for logs and the DSN's Remote-MTA. */
  name: string;
  preference: number;
}

export type MailRoute =
  | { kind: 'hosts'; hosts: MailHost[]; implicit: boolean }
  /** RFC 7505: the domain says it accepts no mail at all. */
  | { kind: 'null-mx' }
  /** The domain does not exist (NXDOMAIN), or has neither MX nor address records. */
  | { kind: 'no-such-domain'; reason: string }
  /** SERVFAIL, REFUSED, timeouts: ask again later. */
  | { kind: 'dns-failure'; reason: string };

export interface HostAddresses {
  addresses: string[];
  /** Set when a look-up failed temporarily, so an empty list must not be taken for "no such host". */
  temporaryFailure?: string;
}

// c-ares codes that mean "this name has no such record" rather than "could not find out".
const NO_SUCH_NAME = 'ENOTFOUND';
const NO_SUCH_RECORD = 'ENODATA';

/** `servers` in the `dns.servers` syntax ("IP", "IP:port", "[IPv6]:port"), which setServers accepts as is. */
export function createResolver(servers: readonly string[], timeoutMs: number): Resolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) resolver.setServers([...servers]);
  return resolver;
}

function errorCode(err: unknown): string {
  return (err as { code?: string }).code ?? 'EUNKNOWN';
}

/** The ASCII form a resolver can ask for (IDNA, RFC 5890), or null for a name that has none. */
export function asciiDomain(domain: string): string | null {
  const ascii = domainToASCII(domain.replace(/\.$/, ''));
  return ascii === '' ? null : ascii.toLowerCase();
}

// RFC 5321 5.1: lowest preference first; hosts of equal preference in random order, so that load spreads.
function byPreference(hosts: MailHost[]): MailHost[] {
  const shuffled = hosts.map((host) => ({ host, tiebreak: Math.random() }));
  shuffled.sort((a, b) => a.host.preference - b.host.preference || a.tiebreak - b.tiebreak);
  return shuffled.map((entry) => entry.host);
}

export async function findMailHosts(resolver: Resolver, domain: string): Promise<MailRoute> {
  const ascii = asciiDomain(domain);
  if (!ascii) return { kind: 'no-such-domain', reason: `${domain} is not a valid domain name` };
  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.resolveMx(ascii);
  } catch (err) {
    const code = errorCode(err);
    if (code === NO_SUCH_NAME) return { kind: 'no-such-domain', reason: `Host or domain name not found: ${domain} (NXDOMAIN)` };
    // RFC 5321 5.1: no MX records, so the domain itself is the implicit MX (with preference 0).
    if (code === NO_SUCH_RECORD) return { kind: 'hosts', hosts: [{ name: ascii, preference: 0 }], implicit: true };
    return { kind: 'dns-failure', reason: `MX look-up for ${domain} failed: ${code}` };
  }
  // The root name comes back as "" (or "."). RFC 7505 3: one such record with preference 0 is a null MX;
  // alongside real exchanges it is a mistake, and the real ones are used.
  const isRoot = (exchange: string) => exchange === '' || exchange === '.';
  const exchanges = records.filter((r) => !isRoot(r.exchange));
  if (exchanges.length === 0) {
    if (records.length > 0) return { kind: 'null-mx' };
    return { kind: 'hosts', hosts: [{ name: ascii, preference: 0 }], implicit: true };
  }
  const hosts = exchanges.map((r) => ({ name: r.exchange.replace(/\.$/, '').toLowerCase(), preference: r.priority }));
  return { kind: 'hosts', hosts: byPreference(hosts), implicit: false };
}

/** A host's addresses, IPv4 first and then IPv6, each family in the order the resolver gave. */
export async function addressesOf(resolver: Resolver, host: string): Promise<HostAddresses> {
  // An MX that names an address instead of a host breaks RFC 5321 5.1, but the intent is plain.
  if (net.isIP(host) !== 0) return { addresses: [host] };
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const addresses: string[] = [];
  let temporaryFailure: string | undefined;
  for (const [family, answer] of [['A', v4], ['AAAA', v6]] as const) {
    if (answer.status === 'fulfilled') {
      addresses.push(...answer.value);
      continue;
    }
    const code = errorCode(answer.reason);
    if (code !== NO_SUCH_NAME && code !== NO_SUCH_RECORD) temporaryFailure ??= `${family} look-up for ${host} failed: ${code}`;
  }
  return temporaryFailure && addresses.length === 0 ? { addresses, temporaryFailure } : { addresses };
}
