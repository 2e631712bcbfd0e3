// Hand-written validation of a complete configuration (defaults already merged in). A rule table mirrors
// the Config type key for key, so adding a setting without a rule fails to compile. Every failure is a
// ConfigError naming the dotted path (`ports.smtp`, `listen[1]`), which the CLI turns into exit code 2.
import net from 'node:net';
import { ConfigError } from '../core/errors.js';
import { parseDnsServer } from './dns-server.js';
import { LOG_LEVELS, PANEL_DRIVERS, PORT_NAMES, type Config, type PortName } from './schema.js';

type Rule = (value: unknown, key: string) => void;
interface Section {
  readonly [name: string]: Rule | Section;
}
/** One rule per leaf (strings, numbers, lists) and a nested table per object, for every key of T. */
type RulesFor<T> = { readonly [K in keyof T]: T[K] extends string | number | readonly unknown[] ? Rule : RulesFor<T[K]> };

// setTimeout silently fires at once for delays above 2^31-1 ms, so timer settings stop there.
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** Checks `value` against the Config shape and returns it typed; throws ConfigError on the first fault. */
export function validateConfig(value: unknown): Config {
  checkSection(value, RULES, '');
  const config = value as Config;
  checkPortsDistinct(config);
  return config;
}

function checkSection(value: unknown, rules: Section, key: string): void {
  if (!isPlainObject(value)) throw new ConfigError(key || 'config', mustBe('an object', value));
  for (const name of Object.keys(value)) {
    if (!Object.hasOwn(rules, name)) {
      throw new ConfigError(join(key, name), `unknown key (expected one of: ${Object.keys(rules).join(', ')})`);
    }
  }
  for (const [name, rule] of Object.entries(rules)) {
    const child = join(key, name);
    if (!Object.hasOwn(value, name)) throw new ConfigError(child, 'missing');
    if (typeof rule === 'function') rule(value[name], child);
    else checkSection(value[name], rule, child);
  }
}

// Two listeners on one port would only fail later with EADDRINUSE and a less helpful message. Other
// pairs (say maxConnectionsPerClient above maxConnections) are left alone: the lower limit simply wins.
function checkPortsDistinct(config: Config): void {
  const owner = new Map<number, PortName>();
  for (const name of PORT_NAMES) {
    const port = config.ports[name];
    if (port === 0) continue;
    const other = owner.get(port);
    if (other !== undefined) throw new ConfigError(`ports.${name}`, `${port} is already used by ports.${other}`);
    owner.set(port, name);
  }
}

// ---- leaf rules ----

function integer(min: number, max = Number.MAX_SAFE_INTEGER, note = ''): Rule {
  const range =
    (max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : `an integer of at least ${min}`) : `an integer from ${min} to ${max}`) + note;
  return (value, key) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(key, mustBe(range, value));
    }
  };
}

const positive = integer(1);
const timerMs = integer(1, MAX_TIMER_MS);
const timerSeconds = integer(1, MAX_TIMER_SECONDS);
const listenerPort = integer(0, 65535, ' (0 disables the listener)');
const remotePort = integer(1, 65535);

function oneOf(choices: readonly string[]): Rule {
  return (value, key) => {
    if (typeof value !== 'string' || !choices.includes(value)) {
      throw new ConfigError(key, mustBe(`one of ${choices.join(', ')}`, value));
    }
  };
}

function listOf(each: Rule, opts: { nonEmpty?: boolean; distinct?: boolean } = {}): Rule {
  return (value, key) => {
    if (!Array.isArray(value)) throw new ConfigError(key, mustBe('a list', value));
    if (opts.nonEmpty && value.length === 0) throw new ConfigError(key, 'must not be empty');
    value.forEach((item: unknown, i) => {
      each(item, `${key}[${i}]`);
      if (opts.distinct && value.indexOf(item) !== i) throw new ConfigError(`${key}[${i}]`, `${describe(item)} is listed twice`);
    });
  };
}

function nonEmptyString(value: unknown, key: string): void {
  if (typeof value !== 'string' || value === '') throw new ConfigError(key, mustBe('a non-empty string', value));
}

function ipAddress(value: unknown, key: string): void {
  if (typeof value !== 'string' || net.isIP(value) === 0) throw new ConfigError(key, mustBe('an IPv4 or IPv6 address', value));
}

function dnsServer(value: unknown, key: string): void {
  if (typeof value !== 'string') throw new ConfigError(key, mustBe('a string like "192.0.2.53:53"', value));
  parseDnsServer(value, key);
}

// RFC 1123 2.1: letters, digits and hyphens, labels of 1-63 not starting or ending with a hyphen.
// An all-numeric last label would make it an IP address, which is not a name we can greet with.
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
function hostName(value: unknown, key: string): void {
  const what = 'a host name (letters, digits, hyphens and dots, like mail.example.com)';
  if (typeof value !== 'string' || value.length > 253) throw new ConfigError(key, mustBe(what, value));
  const labels = value.split('.');
  if (!labels.every((label) => LABEL.test(label)) || /^\d+$/.test(labels[labels.length - 1] ?? '')) {
    throw new ConfigError(key, mustBe(what, value));
  }
}

const RULES: RulesFor<Config> = {
  dataDir: nonEmptyString,
  hostname: hostName,
  listen: listOf(ipAddress, { nonEmpty: true, distinct: true }),
  ports: Object.fromEntries(PORT_NAMES.map((name) => [name, listenerPort])) as Record<PortName, Rule>,
  dns: { servers: listOf(dnsServer) },
  delivery: {
    mxPort: remotePort,
    greetingTimeoutSeconds: timerSeconds,
    replyTimeoutSeconds: timerSeconds,
    minDataRate: positive,
    finalReplyTimeoutSeconds: timerSeconds,
    dnsTimeoutSeconds: integer(1, 5, ' (c-ares waits 5 s at most per try)'),
    resolveTimeoutSeconds: timerSeconds,
  },
  panel: { driver: oneOf(PANEL_DRIVERS) },
  log: { level: oneOf(LOG_LEVELS) },
  smtp: {
    maxMessageSize: integer(1024), // below this not even the headers of an ordinary message fit
    maxRecipients: positive,
    maxConnections: positive,
    maxConnectionsPerClient: positive,
    socketTimeoutSeconds: timerSeconds,
    authFailureDelayMs: timerMs,
    authFailureMaxDelayMs: timerMs,
    authFailureLimit: positive,
    authFailureWindowSeconds: timerSeconds,
    authAccountFailureLimit: positive,
    authKnownAddressSeconds: positive,
    authFailuresPerConnection: positive,
    tlsHandshakeSeconds: timerSeconds,
    commandTimeoutSeconds: timerSeconds,
    minDataRate: positive,
    sessionTimeoutSeconds: timerSeconds,
    junkCommandLimit: positive,
    unknownRecipientsBeforeDelay: positive,
    unknownRecipientLimit: positive,
  },
  queue: {
    retryFirstSeconds: timerSeconds,
    retryMaxSeconds: timerSeconds,
    warnAfterSeconds: positive,
    expireAfterSeconds: positive,
    maxInFlight: positive,
    maxInFlightPerDomain: positive,
    connectTimeoutSeconds: timerSeconds,
    commandTimeoutSeconds: timerSeconds,
  },
  imap: {
    maxMessageSize: integer(1024),
    // A LOGIN with long names, or a UID set of a big folder, must fit (RFC 7162 4 asks for 8192 at least).
    maxLineLength: integer(8192, 16 * 1024 * 1024),
    maxBadCommands: positive,
    loginFailuresPerConnection: positive,
    idleTimeoutSeconds: timerSeconds,
    maxSessionsPerUser: positive,
    maxConnectionsPerAddress: positive,
  },
};

// ---- helpers ----

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

function mustBe(what: string, value: unknown): string {
  return `must be ${what}, got ${describe(value)}`;
}

/** Short enough for one log line; strings are quoted so `"25"` is visibly not 25. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const quoted = JSON.stringify(value);
    return quoted.length > 60 ? `${quoted.slice(0, 57)}..."` : quoted;
  }
  return String(value);
}
