// Where mail for a domain goes: the MX look-up of RFC 5321 5.1 through the configured resolver
// (`dns.servers`), with the implicit MX and the null MX of RFC 7505, then the addresses of the exchanges.
// All of it for one destination runs under one deadline (DestinationLookup), so a DNS server that never
// answers costs an attempt that deadline and no more.
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { domainToASCII } from 'node:url';
import { validDomainName } from '../core/address.js';
import { seconds } from './settings.js';

export interface MailHost {
  /** The exchange's name (the domain itself for the implicit MX), for logs and the DSN's Remote-MTA. */
  name: string;
  preference: number;
}

export type MailRoute =
  | { kind: 'hosts'; hosts: MailHost[]; implicit: boolean }
  /** RFC 7505: the domain says it accepts no mail at all. */
  | { kind: 'null-mx' }
  /** The domain does not exist (NXDOMAIN), has neither MX nor address records, or cannot be a DNS name. */
  | { kind: 'no-such-domain'; reason: string }
  /** SERVFAIL, REFUSED, timeouts: ask again later. */
  | { kind: 'dns-failure'; reason: string };

export interface HostAddresses {
  addresses: string[];
  /** Set when a look-up failed temporarily, so an empty list must not be taken for "no such host". */
  temporaryFailure?: string;
}

export interface DnsSettings {
  /** In the `dns.servers` syntax ("IP", "IP:port", "[IPv6]:port"), which setServers accepts as is. */
  servers: readonly string[];
  /** Per query try; two tries are made. */
  queryTimeoutMs: number;
  /** All the look-ups for one destination together. */
  resolveTimeoutMs: number;
}

// c-ares codes that mean "this name has no such record" rather than "could not find out". EBADNAME is
// a name DNS cannot carry (a label over 63 octets): no server will ever have records for it.
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'EBADNAME']);
const NO_SUCH_RECORD = 'ENODATA';
const QUERY_TRIES = 2;

/**
 * The DNS look-ups for one destination, under one deadline and the attempt's abort signal: when either
 * comes, every query still out is cancelled and answers ECANCELLED at once.
 *
 * Each query gets a resolver (a c-ares channel) of its own. c-ares 1.34, in Node 20, times a query on a
 * channel that has seen 3 answers by 5 times their average, at least 250 ms, whatever `timeout` says;
 * after a few quick answers, one that is a second late was taken for none. Node 20 passes c-ares only
 * `timeout` and `tries` (no `maxTimeout`). A fresh channel has no history, so every query waits the
 * configured time (c-ares caps it at 5 s), then as long again or up to twice that for its second try.
 */
export class DestinationLookup {
  private readonly pending = new Set<Resolver>();
  private readonly timer: NodeJS.Timeout;
  private stopped: string | undefined;
  private readonly onAbort = () => this.stop('delivery attempt aborted');

  constructor(
    private readonly dns: DnsSettings,
    destination: string,
    private readonly signal?: AbortSignal,
  ) {
    this.timer = setTimeout(() => this.stop(`DNS look-ups for ${destination} timed out after ${seconds(dns.resolveTimeoutMs)}`), dns.resolveTimeoutMs);
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted) this.onAbort();
  }

  /** Why the look-ups were cut short (deadline or abort), once they were. */
  get ended(): string | undefined {
    return this.stopped;
  }

  async ask<T>(question: (resolver: Resolver) => Promise<T>): Promise<T> {
    if (this.stopped) throw Object.assign(new Error(this.stopped), { code: 'ECANCELLED' });
    const resolver = new Resolver({ timeout: this.dns.queryTimeoutMs, tries: QUERY_TRIES });
    if (this.dns.servers.length > 0) resolver.setServers([...this.dns.servers]);
    this.pending.add(resolver);
    try {
      return await question(resolver);
    } finally {
      this.pending.delete(resolver);
    }
  }

  /** Ends the deadline; queries still out (there should be none) are cancelled. */
  close(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
    for (const resolver of this.pending) resolver.cancel();
  }

  private stop(reason: string): void {
    this.stopped ??= reason;
    clearTimeout(this.timer);
    for (const resolver of this.pending) resolver.cancel();
  }
}

function errorCode(err: unknown): string {
  return (err as { code?: string }).code ?? 'EUNKNOWN';
}

/** What a failed query says, in the words of the deadline or abort that cut it short when there was one. */
function failureText(lookup: DestinationLookup, what: string, err: unknown): string {
  const code = errorCode(err);
  return code === 'ECANCELLED' && lookup.ended ? lookup.ended : `${what} failed: ${code}`;
}

/** The ASCII form a resolver can ask for (IDNA, RFC 5890), or null for a name that has none. */
export function asciiDomain(domain: string): string | null {
  if (!validDomainName(domain)) return null;
  return domainToASCII(domain.replace(/\.$/, '')).toLowerCase();
}

// RFC 5321 5.1: lowest preference first; hosts of equal preference in random order, so that load spreads.
function byPreference(hosts: MailHost[]): MailHost[] {
  const shuffled = hosts.map((host) => ({ host, tiebreak: Math.random() }));
  shuffled.sort((a, b) => a.host.preference - b.host.preference || a.tiebreak - b.tiebreak);
  return shuffled.map((entry) => entry.host);
}

function notADomainName(domain: string): string {
  const shown = domain.length > 80 ? `${domain.slice(0, 60)}... (${domain.length} characters)` : domain;
  return `${shown} cannot be a domain name (RFC 1035 2.3.4: labels of 1 to 63 characters, 253 in all)`;
}

export async function findMailHosts(lookup: DestinationLookup, domain: string): Promise<MailRoute> {
  const ascii = asciiDomain(domain);
  // RFC 1035 2.3.4 (labels of at most 63 octets, names of 255): such a name never resolves. RFC 3463:
  // X.1.2 bad destination system address.
  if (!ascii) return { kind: 'no-such-domain', reason: notADomainName(domain) };
  let records: { exchange: string; priority: number }[];
  try {
    records = await lookup.ask((resolver) => resolver.resolveMx(ascii));
  } catch (err) {
    const code = errorCode(err);
    if (code === 'EBADNAME') return { kind: 'no-such-domain', reason: notADomainName(domain) };
    if (NO_SUCH_NAME.has(code)) return { kind: 'no-such-domain', reason: `Host or domain name not found: ${domain} (NXDOMAIN)` };
    // RFC 5321 5.1: no MX records, so the domain itself is the implicit MX (with preference 0).
    if (code === NO_SUCH_RECORD) return { kind: 'hosts', hosts: [{ name: ascii, preference: 0 }], implicit: true };
    return { kind: 'dns-failure', reason: failureText(lookup, `MX look-up for ${domain}`, err) };
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
export async function addressesOf(lookup: DestinationLookup, host: string): Promise<HostAddresses> {
  // An MX that names an address instead of a host breaks RFC 5321 5.1, but the intent is plain.
  if (net.isIP(host) !== 0) return { addresses: [host] };
  if (!validDomainName(host)) return { addresses: [] };
  const [v4, v6] = await Promise.allSettled([lookup.ask((r) => r.resolve4(host)), lookup.ask((r) => r.resolve6(host))]);
  const addresses: string[] = [];
  let temporaryFailure: string | undefined;
  for (const [family, answer] of [['A', v4], ['AAAA', v6]] as const) {
    if (answer.status === 'fulfilled') {
      addresses.push(...answer.value);
      continue;
    }
    const code = errorCode(answer.reason);
    if (!NO_SUCH_NAME.has(code) && code !== NO_SUCH_RECORD) temporaryFailure ??= failureText(lookup, `${family} look-up for ${host}`, answer.reason);
  }
  return temporaryFailure && addresses.length === 0 ? { addresses, temporaryFailure } : { addresses };
}

/** The exchanges whose addresses are known, in preference order, and why others are not. */
export interface ExchangeAddresses {
  hosts: (MailHost & { addresses: string[] })[];
  /** A temporary failure (or the deadline) that kept some exchange's addresses unknown. */
  trouble?: string;
}

/** At most this many exchanges are looked up at once (an A and an AAAA query each). */
const PARALLEL_HOST_LOOKUPS = 4;

/**
 * The addresses of `hosts`, looked up a few at a time in preference order until the exchanges in front
 * have `enough` addresses between them, or the lookup's deadline passes: a domain with 500 MX hosts
 * whose look-ups never answer costs the deadline, not 500 look-ups one after another.
 */
export async function addressesOfExchanges(lookup: DestinationLookup, hosts: MailHost[], enough: number): Promise<ExchangeAddresses> {
  const answers: (HostAddresses | undefined)[] = hosts.map(() => undefined);
  let next = 0;
  const enoughInFront = (): boolean => {
    let count = 0;
    for (const answer of answers) {
      if (!answer) return false;
      count += answer.addresses.length;
      if (count >= enough) return true;
    }
    return true;
  };
  const worker = async (): Promise<void> => {
    while (next < hosts.length && !lookup.ended && !enoughInFront()) {
      const index = next++;
      answers[index] = await addressesOf(lookup, (hosts[index] as MailHost).name);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_HOST_LOOKUPS, hosts.length) }, worker));
  const found = hosts.flatMap((host, i) => {
    const answer = answers[i];
    return answer && answer.addresses.length > 0 ? [{ ...host, addresses: answer.addresses }] : [];
  });
  const answered = answers.filter((answer) => answer && !(lookup.ended && answer.temporaryFailure === lookup.ended)).length;
  if (lookup.ended && !enoughInFront()) return { hosts: found, trouble: `${lookup.ended} (${answered} of ${hosts.length} MX hosts looked up)` };
  const trouble = answers.find((answer) => answer?.temporaryFailure)?.temporaryFailure;
  return trouble ? { hosts: found, trouble } : { hosts: found };
}
