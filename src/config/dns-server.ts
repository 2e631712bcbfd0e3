// The `dns.servers` entry syntax. Kept apart from validation because delivery/ parses the same strings
// when it builds its resolver.
import net from 'node:net';
import { ConfigError } from '../core/errors.js';

export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

const DEFAULT_DNS_PORT = 53;

/**
 * Parses `"IP"`, `"IP:port"` or `"[IPv6]:port"` (also `"[IPv6]"`). A bare IPv6 address is taken whole,
 * so `"::1:53"` is the address ::1:53 on port 53; an IPv6 server on another port needs the brackets.
 * Throws ConfigError under `key`.
 */
export function parseDnsServer(s: string, key = 'dns.servers'): DnsServer {
  if (net.isIP(s) !== 0) return { host: s, port: DEFAULT_DNS_PORT };

  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(s);
  if (bracketed) {
    const host = bracketed[1] ?? '';
    if (net.isIPv6(host)) {
      const port = bracketed[2];
      return { host, port: port === undefined ? DEFAULT_DNS_PORT : parsePort(port, s, key) };
    }
  } else {
    const colon = s.lastIndexOf(':');
    const host = s.slice(0, colon);
    if (colon > 0 && net.isIPv4(host)) return { host, port: parsePort(s.slice(colon + 1), s, key) };
  }
  throw new ConfigError(key, `"${s}" is not "IP", "IP:port" or "[IPv6]:port"`);
}

function parsePort(text: string, whole: string, key: string): number {
  // Digits only: Number() would also take "", "0x35" and "5e1".
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ConfigError(key, `"${whole}" has no valid port (1-65535)`);
  }
  return port;
}
