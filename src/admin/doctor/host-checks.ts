// The box's own name and its way out: the hostname resolves (it is the EHLO name and the MX target),
// the reverse DNS of its addresses names it back (receivers distrust mail from an address whose PTR
// does not match, RFC 1912 2.1), and mail can leave: port 25 or the smarthost.
import { BlockList } from 'node:net';
import type { RelaySettings } from '../../core/types.js';
import { ok, problem, warning, type Finding } from './findings.js';
import { emptyReason, recordsOf, sameName, type DoctorDns } from './lookup.js';

/** Addresses the internet cannot reach: RFC 1918, loopback, link-local, RFC 4193 unique local, CGNAT (RFC 6598). */
const PRIVATE = new BlockList();
for (const [network, prefix] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['127.0.0.0', 8], ['169.254.0.0', 16], ['100.64.0.0', 10]] as const) PRIVATE.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['fc00::', 7], ['fe80::', 10], ['::1', 128]] as const) PRIVATE.addSubnet(network, prefix, 'ipv6');

function isPrivate(address: string): boolean {
  return PRIVATE.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}

export async function checkHostname(dns: DoctorDns, hostname: string): Promise<{ finding: Finding; addresses: string[] }> {
  const answer = await dns.addresses(hostname);
  const addresses = recordsOf(answer);
  if ('failure' in answer) return { finding: warning('hostname', hostname, `could not look up ${hostname}: ${emptyReason(answer)}`, 'check dns.servers and the network, then run doctor again'), addresses };
  if (addresses.length === 0) {
    return { finding: problem('hostname', hostname, `${hostname} has no A or AAAA record: ${emptyReason(answer)}`, `add an A record (and AAAA for IPv6) for ${hostname} with the box's public address`), addresses };
  }
  const internal = addresses.filter(isPrivate);
  if (internal.length > 0) {
    return { finding: warning('hostname', hostname, `${hostname} resolves to ${addresses.join(', ')}; ${internal.join(', ')} cannot be reached from the internet`, `point ${hostname} at the router's public address and forward port 25 to the box`), addresses };
  }
  return { finding: ok('hostname', hostname, `${hostname} resolves to ${addresses.join(', ')}`), addresses };
}

export async function checkReverseDns(dns: DoctorDns, hostname: string, address: string): Promise<Finding> {
  const answer = await dns.ptr(address);
  const names = recordsOf(answer);
  const advice = `ask whoever provides ${address} (the ISP) to set its reverse DNS (PTR) to ${hostname}`;
  if (names.some((name) => sameName(name, hostname))) return ok('ptr', address, `the PTR of ${address} is ${hostname}`);
  if (names.length === 0) return warning('ptr', address, `${address} has no PTR record: ${emptyReason(answer)}`, advice);
  return warning('ptr', address, `the PTR of ${address} is ${names.join(', ')}, not ${hostname}`, advice);
}

/** The running appliance's "outbound port 25 blocked" guess (src/delivery/blocked.ts), with the smarthost. */
export function checkOutbound(blocked: boolean | undefined, relay: RelaySettings | undefined): Finding {
  const usable = relay && relay.mode !== 'never';
  if (blocked === undefined) {
    return warning('outbound', 'port 25', 'cannot tell whether outbound port 25 is blocked: letterbox serve is not running', 'run doctor again while the service runs (it notices after a few deliveries)');
  }
  if (!blocked) return ok('outbound', 'port 25', 'no sign of outbound port 25 being blocked');
  if (usable) return ok('outbound', 'port 25', `outbound port 25 seems blocked; mail leaves through the smarthost ${relay.host}`);
  return problem('outbound', 'port 25', 'outbound port 25 seems blocked and there is no smarthost: mail for other domains cannot leave', 'set your ISP\'s or mail provider\'s relay: letterbox relay set --host H --port 587 --user U --password-stdin');
}

/** The smarthost's mode and whether its name resolves; `relay test ADDRESS` checks the whole way. */
export async function checkSmarthost(dns: DoctorDns, relay: RelaySettings): Promise<{ finding: Finding; addresses: string[] }> {
  const subject = `${relay.host}:${relay.port}`;
  const mode = relay.mode === 'fallback' ? 'used when direct delivery fails' : relay.mode === 'always' ? 'used for all outbound mail' : 'switched off (mode never)';
  if (/^[\d.]+$|:/.test(relay.host)) return { finding: ok('smarthost', subject, `smarthost ${subject}, ${mode}`), addresses: [relay.host] };
  const answer = await dns.addresses(relay.host);
  const addresses = recordsOf(answer);
  if (addresses.length === 0) {
    return { finding: problem('smarthost', subject, `smarthost ${relay.host} does not resolve: ${emptyReason(answer)}`, 'check the name with your provider: letterbox relay set --host H ...'), addresses };
  }
  return { finding: ok('smarthost', subject, `smarthost ${subject} (${addresses.join(', ')}), ${mode}; letterbox relay test ADDRESS sends a test message`), addresses };
}
