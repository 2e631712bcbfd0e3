// A basic SPF evaluation (RFC 7208) for the doctor: would this record give `pass` for this address?
// It follows check_host() (RFC 7208 4) for the mechanisms an office's record uses: all, ip4, ip6, a,
// mx, include and the redirect modifier, with the limit of 10 DNS-querying terms (4.6.4). It does not
// evaluate `exists`, `ptr` (deprecated, 5.5) or macros (7): a term that uses them is taken as not
// matching and named in the verdict, so the doctor says it could not tell rather than guess.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { recordsOf, type DoctorDns } from './lookup.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface SpfVerdict {
  result: SpfResult;
  /** Why: the term that matched, the error, or the terms that were not evaluated. */
  why: string;
}

/** The one SPF record of a domain (RFC 7208 4.5), or why there is none to use. */
export type SpfRecord = { record: string } | { none: true } | { permerror: string } | { temperror: string };

const QUALIFIERS: Record<string, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };
const DNS_TERMS = new Set(['include', 'a', 'mx', 'ptr', 'exists']);
const MAX_DNS_TERMS = 10; // RFC 7208 4.6.4
const MAX_MX_HOSTS = 10; // RFC 7208 4.6.4, for the mx mechanism

export async function findSpfRecord(dns: DoctorDns, domain: string): Promise<SpfRecord> {
  const answer = await dns.txt(domain);
  if ('failure' in answer) return { temperror: `the TXT look-up for ${domain} failed (${answer.failure})` };
  // RFC 7208 4.5: "v=spf1" followed by a space or the end, case-insensitively; other TXT records are ignored.
  const records = recordsOf(answer).filter((text) => /^v=spf1( |$)/i.test(text));
  if (records.length === 0) return { none: true };
  if (records.length > 1) return { permerror: `${domain} has ${records.length} SPF records; RFC 7208 4.5 allows one` };
  return { record: records[0] as string };
}

interface Term {
  qualifier: SpfResult;
  name: string;
  /** The domain-spec or the ip4/ip6 network. */
  value: string | undefined;
  prefix4: number | undefined;
  prefix6: number | undefined;
}

/** One mechanism (RFC 7208 5), or null for a modifier (6). */
function parseMechanism(text: string): Term | null {
  const qualifier = QUALIFIERS[text[0] ?? ''];
  const body = qualifier ? text.slice(1) : text;
  const name = (/^[a-z0-9]+/i.exec(body)?.[0] ?? '').toLowerCase();
  const rest = body.slice(name.length);
  if (rest.startsWith('=')) return null;
  if (name === 'ip4' || name === 'ip6') {
    const [network, prefix] = rest.slice(1).split('/');
    const length = prefix === undefined ? undefined : Number(prefix);
    return { qualifier: qualifier ?? 'pass', name, value: network, prefix4: length, prefix6: length };
  }
  const cidr = /(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(rest);
  const domainPart = rest.slice(0, cidr?.index ?? rest.length);
  return {
    qualifier: qualifier ?? 'pass',
    name,
    value: domainPart.startsWith(':') ? domainPart.slice(1) : undefined,
    prefix4: cidr?.[1] === undefined ? undefined : Number(cidr[1]),
    prefix6: cidr?.[2] === undefined ? undefined : Number(cidr[2]),
  };
}

/** Whether `address` lies in `network`/`prefix` (a whole address when no prefix). */
function inNetwork(address: string, network: string, prefix: number | undefined): boolean {
  const family = isIPv4(network) ? 'ipv4' : isIPv6(network) ? 'ipv6' : null;
  if (!family || (family === 'ipv4') !== isIPv4(address)) return false;
  const list = new BlockList();
  list.addSubnet(network, prefix ?? (family === 'ipv4' ? 32 : 128), family);
  return list.check(address, family);
}

class Evaluation {
  private dnsTerms = 0;
  readonly skipped = new Set<string>();

  constructor(
    private readonly dns: DoctorDns,
    private readonly address: string,
  ) {}

  /** RFC 7208 4: check_host() for `domain`, with the terms this evaluation knows. */
  async checkHost(domain: string): Promise<SpfVerdict> {
    const found = await findSpfRecord(this.dns, domain);
    if ('none' in found) return { result: 'none', why: `${domain} has no SPF record` };
    if ('permerror' in found) return { result: 'permerror', why: found.permerror };
    if ('temperror' in found) return { result: 'temperror', why: found.temperror };
    const terms = found.record.split(/ +/).slice(1).filter(Boolean);
    for (const text of terms) {
      const term = parseMechanism(text);
      if (!term) continue;
      if (DNS_TERMS.has(term.name) && ++this.dnsTerms > MAX_DNS_TERMS) return { result: 'permerror', why: 'more than 10 DNS look-ups (RFC 7208 4.6.4)' };
      const match = await this.matches(term, domain);
      if (match === 'temperror' || match === 'permerror') return { result: match, why: `${text} in the record of ${domain} could not be evaluated` };
      if (match) return { result: term.qualifier, why: `${text} in the record of ${domain}` };
    }
    // RFC 7208 6.1: redirect applies only when no mechanism matched; a target without a record is permerror.
    const redirect = terms.find((text) => /^redirect=/i.test(text))?.slice('redirect='.length);
    if (redirect && !redirect.includes('%')) {
      if (++this.dnsTerms > MAX_DNS_TERMS) return { result: 'permerror', why: 'more than 10 DNS look-ups (RFC 7208 4.6.4)' };
      const verdict = await this.checkHost(redirect);
      return verdict.result === 'none' ? { result: 'permerror', why: `redirect=${redirect} has no SPF record` } : verdict;
    }
    return { result: 'neutral', why: `no term of the record of ${domain} matched` };
  }

  private async matches(term: Term, domain: string): Promise<boolean | 'temperror' | 'permerror'> {
    const target = term.value ?? domain;
    if (term.name === 'all') return true;
    if (term.name === 'ip4' || term.name === 'ip6') return term.value !== undefined && inNetwork(this.address, term.value, term.prefix4);
    if (target.includes('%') || term.name === 'exists' || term.name === 'ptr') {
      this.skipped.add(term.name === 'ptr' || term.name === 'exists' ? term.name : 'macros');
      return false;
    }
    if (term.name === 'a') return this.hostMatches(target, term);
    if (term.name === 'mx') return this.mxMatches(target, term);
    if (term.name === 'include') return this.includeMatches(target);
    return false; // an unknown mechanism is a permerror in RFC 7208 5; kept lenient here
  }

  private async hostMatches(host: string, term: Term): Promise<boolean | 'temperror'> {
    const answer = isIPv4(this.address) ? await this.dns.a(host) : await this.dns.aaaa(host);
    if ('failure' in answer) return 'temperror';
    const prefix = isIPv4(this.address) ? term.prefix4 : term.prefix6;
    return recordsOf(answer).some((network) => inNetwork(this.address, network, prefix));
  }

  private async mxMatches(domain: string, term: Term): Promise<boolean | 'temperror'> {
    const answer = await this.dns.mx(domain);
    if ('failure' in answer) return 'temperror';
    for (const { exchange } of recordsOf(answer).slice(0, MAX_MX_HOSTS)) {
      const match = await this.hostMatches(exchange, term);
      if (match) return match;
    }
    return false;
  }

  /** RFC 7208 5.2: include matches on the included record's pass only; none there is a permerror. */
  private async includeMatches(domain: string): Promise<boolean | 'temperror' | 'permerror'> {
    const verdict = await this.checkHost(domain);
    if (verdict.result === 'pass') return true;
    if (verdict.result === 'temperror') return 'temperror';
    if (verdict.result === 'permerror' || verdict.result === 'none') return 'permerror';
    return false;
  }
}

/** The SPF result for mail from `domain` sent from `address`, and why. */
export async function evaluateSpf(dns: DoctorDns, domain: string, address: string): Promise<SpfVerdict> {
  const evaluation = new Evaluation(dns, address);
  const verdict = await evaluation.checkHost(domain);
  if (verdict.result === 'pass' || evaluation.skipped.size === 0) return verdict;
  return { ...verdict, why: `${verdict.why}; not evaluated here: ${[...evaluation.skipped].join(', ')}` };
}

/** The domains a record includes (or redirects to), for a smarthost provider's `include:`. */
export function includedDomains(record: string): string[] {
  return record
    .split(/ +/)
    .map((text) => /^[+\-~?]?(?:include:|redirect=)(.+)$/i.exec(text)?.[1])
    .filter((domain): domain is string => !!domain);
}
