// A real DNS server for delivery tests: Debian's dnsmasq in the foreground on 127.0.0.1:<free port>
// (another one when a parallel test took that port first),
// answering only from the records given here. Names under `localDomains` that have no record get
// NXDOMAIN (dnsmasq's --local); names anywhere else get REFUSED, which a resolver takes as a temporary
// failure, like SERVFAIL. Nothing is forwarded anywhere (--no-resolv, no --server).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, retryOnAddressInUse } from './ports.js';
import { needTool, type TapLike } from './remote-mta.js';

export interface DnsZone {
  /** MX records. */
  mx?: { domain: string; host: string; preference: number }[];
  /** A and AAAA records (IPv4 and IPv6 addresses may be mixed). */
  hosts?: { name: string; addresses: string[] }[];
  /** Domains with a null MX (RFC 7505): a single MX "." with preference 0. */
  nullMx?: string[];
  /** Domains dnsmasq answers for with authority (NXDOMAIN for unknown names); default `test`. */
  localDomains?: string[];
  /** TXT records (SPF, DMARC), one string each: dnsmasq takes a comma as the start of another string. */
  txt?: { name: string; text: string }[];
  /** PTR records, which replace the one a `hosts` entry makes for the same address. */
  ptr?: { address: string; name: string }[];
}

/** The reverse-DNS name of an address: 10.2.0.192.in-addr.arpa, or the nibbles of IPv6 under ip6.arpa. */
export function reverseName(address: string): string {
  if (isIPv4(address)) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const full = [...groups(head), ...Array<string>(address.includes('::') ? missing : 0).fill('0'), ...groups(tail)];
  return `${[...full.map((g) => g.padStart(4, '0')).join('')].reverse().join('.')}.ip6.arpa`;
}

export interface RunningDns {
  /** For DeliverySettings.dnsServers: "127.0.0.1:port". */
  server: string;
  /** Every query dnsmasq logged so far, as "TYPE name". */
  queries(): string[];
  stop(): Promise<void>;
}

function zoneArguments(zone: DnsZone): string[] {
  const args: string[] = [];
  for (const domain of zone.localDomains ?? ['test']) args.push(`--local=/${domain}/`);
  for (const { domain, host, preference } of zone.mx ?? []) args.push(`--mx-host=${domain},${host},${preference}`);
  // dnsmasq writes the target "." as the root name: a true null MX on the wire.
  for (const domain of zone.nullMx ?? []) args.push(`--mx-host=${domain},.,0`);
  for (const { name, addresses } of zone.hosts ?? []) args.push(`--host-record=${[name, ...addresses].join(',')}`);
  for (const { name, text } of zone.txt ?? []) {
    if (text.includes(',')) throw new Error(`dnsmasq cannot serve a TXT string with a comma: ${text}`);
    args.push(`--txt-record=${name},${text}`);
  }
  for (const { address, name } of zone.ptr ?? []) args.push(`--ptr-record=${reverseName(address)},${name}`);
  return args;
}

/** Starts dnsmasq with `zone`; null when dnsmasq is missing (the test was skipped, or failed in CI). */
export async function startDnsmasq(t: TapLike, zone: DnsZone): Promise<RunningDns | null> {
  const binary = needTool(t, '/usr/sbin/dnsmasq', 'dnsmasq-base');
  if (!binary) return null;
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-dns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return retryOnAddressInUse(async () => {
    const port = await freePort();
    const child = spawn(
      binary,
      [
        '--keep-in-foreground',
        '--no-resolv',
        '--no-hosts',
        '--no-poll',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        `--pid-file=${join(dir, 'dnsmasq.pid')}`,
        '--log-queries',
        '--log-facility=-',
        ...zoneArguments(zone),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const log: string[] = [];
    let buffered = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      log.push(...lines);
    });
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const running: RunningDns = {
      server: `127.0.0.1:${port}`,
      queries: () => log.flatMap((line) => /query\[(\w+)\] (\S+) from/.exec(line)?.slice(1, 3).join(' ') ?? []),
      stop: async () => {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    t.teardown(() => running.stop());
    await waitUntilAnswering(running.server, child, closed, log);
    return running;
  });
}

async function waitUntilAnswering(server: string, child: ChildProcess, closed: Promise<void>, log: string[]): Promise<void> {
  // A second per query and half a minute in all: on a loaded machine an answer can take longer than
  // 200 ms to be read, and a short timeout then reads as silence until the deadline.
  const resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([server]);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await closed; // all it wrote has been read: why it exited (a port taken, say) is in the log
      throw new Error(`dnsmasq exited with ${child.exitCode}: ${log.join('\n')}`);
    }
    const answered = await resolver.resolveTxt('ready.invalid').then(
      () => true,
      // Any DNS answer, even REFUSED, means something is listening; only silence means nothing yet.
      (err: { code?: string }) => err.code !== 'ETIMEOUT' && err.code !== 'ECONNREFUSED',
    );
    // The answer is from this dnsmasq once it logged the question: another server may hold the port
    // (this one then exits, failing to bind it).
    if (answered && log.some((line) => line.includes('ready.invalid'))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`dnsmasq did not answer within 30 s: ${log.join('\n')}`);
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
