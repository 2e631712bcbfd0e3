// The doctor's DNS questions, through `dns.servers` when set (as delivery asks them), each answered as
// records, "none" (NXDOMAIN or no such record) or a failure to find out. Answers are remembered for
// one run: the SPF evaluation asks for the same names as the MX and hostname checks.
import { Resolver } from 'node:dns/promises';

export type Answer<T> = { records: T[] } | { none: 'no-such-name' | 'no-record' } | { failure: string };

const NO_SUCH_NAME = new Set(['ENOTFOUND', 'EBADNAME']);
const NO_RECORD = 'ENODATA';

export class DoctorDns {
  private readonly asked = new Map<string, Promise<Answer<unknown>>>();

  constructor(
    private readonly servers: readonly string[],
    private readonly timeoutMs: number,
  ) {}

  mx(domain: string): Promise<Answer<{ exchange: string; priority: number }>> {
    return this.ask(`MX ${domain}`, (r) => r.resolveMx(domain));
  }

  /** Each TXT record's strings joined, as RFC 7208 3.3 and RFC 7489 6.6.3 read them. */
  txt(name: string): Promise<Answer<string>> {
    return this.ask(`TXT ${name}`, async (r) => (await r.resolveTxt(name)).map((strings) => strings.join('')));
  }

  a(host: string): Promise<Answer<string>> {
    return this.ask(`A ${host}`, (r) => r.resolve4(host));
  }

  aaaa(host: string): Promise<Answer<string>> {
    return this.ask(`AAAA ${host}`, (r) => r.resolve6(host));
  }

  ptr(address: string): Promise<Answer<string>> {
    return this.ask(`PTR ${address}`, (r) => r.reverse(address));
  }

  /** A and AAAA together; a failure only when neither family answered. */
  async addresses(host: string): Promise<Answer<string>> {
    const [v4, v6] = await Promise.all([this.a(host), this.aaaa(host)]);
    const found = [...recordsOf(v4), ...recordsOf(v6)];
    if (found.length > 0) return { records: found };
    if ('failure' in v4) return v4;
    if ('failure' in v6) return v6;
    return 'none' in v4 && v4.none === 'no-such-name' ? v4 : { none: 'no-record' };
  }

  private ask<T>(key: string, question: (resolver: Resolver) => Promise<T[]>): Promise<Answer<T>> {
    let answer = this.asked.get(key) as Promise<Answer<T>> | undefined;
    if (!answer) {
      answer = this.resolve(question);
      this.asked.set(key, answer);
    }
    return answer;
  }

  private async resolve<T>(question: (resolver: Resolver) => Promise<T[]>): Promise<Answer<T>> {
    const resolver = new Resolver({ timeout: this.timeoutMs, tries: 2 });
    if (this.servers.length > 0) resolver.setServers([...this.servers]);
    try {
      return { records: await question(resolver) };
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EUNKNOWN';
      if (NO_SUCH_NAME.has(code)) return { none: 'no-such-name' };
      if (code === NO_RECORD) return { none: 'no-record' };
      return { failure: code };
    }
  }
}

export function recordsOf<T>(answer: Answer<T>): T[] {
  return 'records' in answer ? answer.records : [];
}

/** A DNS name as compared: lower case, without the root's trailing dot. */
export function sameName(a: string, b: string): boolean {
  return a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
}

/** Why an answer holds nothing, for a finding's summary. */
export function emptyReason(answer: Answer<unknown>): string {
  if ('failure' in answer) return `the look-up failed (${answer.failure})`;
  if ('none' in answer) return answer.none === 'no-such-name' ? 'the name does not exist (NXDOMAIN)' : 'no such record';
  return 'no records';
}
