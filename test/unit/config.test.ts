// Configuration loading: what a file, the environment and --dev produce, and which key a bad file names.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/core/errors.js';
import { loadConfig, parseDnsServer, type Config, type LoadConfigOptions } from '../../src/config/index.js';

/** The one thing the helpers need from a tap test: somewhere to hang clean-up. */
interface Test {
  teardown(fn: () => void): void;
}

function tmpDir(tt: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-config-'));
  tt.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Options that keep the machine's own /etc/letterbox and environment out of the test. */
function isolated(dir: string, extra: LoadConfigOptions = {}): LoadConfigOptions {
  return { env: {}, cwd: dir, systemFile: path.join(dir, 'no-such-system-config.json'), ...extra };
}

function writeConfig(dir: string, content: unknown, name = 'config.json'): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function loadFrom(tt: Test, content: unknown, extra: LoadConfigOptions = {}): Config {
  const dir = tmpDir(tt);
  return loadConfig(isolated(dir, { file: writeConfig(dir, content), ...extra }));
}

t.test('good configs', async (t) => {
  const cases: Array<[name: string, file: unknown, pick: (c: Config) => unknown, want: unknown]> = [
    ['empty object gives the appliance defaults', {}, (c) => [c.ports.smtp, c.ports.https, c.listen, c.panel.driver, c.dataDir], [25, 443, ['0.0.0.0', '::'], 'auto', '/var/lib/letterbox']],
    ['one port changed, the others kept', { ports: { smtp: 0 } }, (c) => [c.ports.smtp, c.ports.submission], [0, 587]],
    ['a list replaces the default list', { listen: ['::1'] }, (c) => c.listen, ['::1']],
    [
      'dns servers in every form',
      { dns: { servers: ['127.0.0.1:5353', '192.0.2.1', '::1', '[::1]:5353', '[2001:db8::1]'] } },
      (c) => c.dns.servers,
      ['127.0.0.1:5353', '192.0.2.1', '::1', '[::1]:5353', '[2001:db8::1]'],
    ],
    ['single-label hostname', { hostname: 'localhost' }, (c) => c.hostname, 'localhost'],
    ['dotted hostname with hyphens and digits', { hostname: 'mail-1.example.com' }, (c) => c.hostname, 'mail-1.example.com'],
    ['enums', { log: { level: 'silent' }, panel: { driver: 'none' } }, (c) => [c.log.level, c.panel.driver], ['silent', 'none']],
    ['smallest message size', { smtp: { maxMessageSize: 1024 } }, (c) => [c.smtp.maxMessageSize, c.smtp.maxRecipients], [1024, 100]],
    [
      'login limits, the old keys beside the new',
      { smtp: { authFailureLimit: 5, authAccountFailureLimit: 50, authKnownAddressSeconds: 86400, authFailuresPerConnection: 1 } },
      (c) => [c.smtp.authFailureLimit, c.smtp.authFailureWindowSeconds, c.smtp.authAccountFailureLimit, c.smtp.authKnownAddressSeconds, c.smtp.authFailuresPerConnection],
      [5, 900, 50, 86400, 1],
    ],
    ['queue limits', { queue: { maxInFlight: 1, retryFirstSeconds: 1 } }, (c) => [c.queue.maxInFlight, c.queue.retryFirstSeconds, c.queue.retryMaxSeconds], [1, 1, 3600]],
    ['mx port for tests', { delivery: { mxPort: 2525 } }, (c) => c.delivery.mxPort, 2525],
    ['absolute dataDir kept', { dataDir: '/srv/mail' }, (c) => c.dataDir, '/srv/mail'],
    [
      'all listeners disabled',
      { ports: { smtp: 0, submission: 0, smtps: 0, imap: 0, imaps: 0, pop3: 0, pop3s: 0, http: 0, https: 0 } },
      (c) => Object.values(c.ports),
      [0, 0, 0, 0, 0, 0, 0, 0, 0],
    ],
    ['byte-order mark tolerated', '\uFEFF{"hostname":"bom.example"}', (c) => c.hostname, 'bom.example'],
  ];
  for (const [name, file, pick, want] of cases) t.strictSame(pick(loadFrom(t, file)), want, name);
});

t.test('bad configs name the key', async (t) => {
  const cases: Array<[name: string, file: unknown, key: string, message?: RegExp]> = [
    ['unknown top-level key', { bogus: 1 }, 'bogus', /unknown key/],
    ['unknown nested key', { ports: { smtpp: 25 } }, 'ports.smtpp', /unknown key.*submission/],
    ['unknown key deeper', { smtp: { foo: {} } }, 'smtp.foo', /unknown key/],
    ['__proto__ is just an unknown key', '{"__proto__": {"polluted": true}}', '__proto__', /unknown key/],
    ['port as string', { ports: { smtp: 'x' } }, 'ports.smtp', /got "x"/],
    ['port as numeric string', { ports: { imap: '143' } }, 'ports.imap', /got "143"/],
    ['port too large', { ports: { smtp: 70000 } }, 'ports.smtp', /0 to 65535/],
    ['port negative', { ports: { pop3: -1 } }, 'ports.pop3'],
    ['port fractional', { ports: { http: 80.5 } }, 'ports.http'],
    ['two listeners on one port', { ports: { imap: 25 } }, 'ports.imap', /already used by ports\.smtp/],
    ['ports not an object', { ports: 25 }, 'ports', /must be an object/],
    ['section null', { smtp: null }, 'smtp', /got null/],
    ['listen not a list', { listen: '0.0.0.0' }, 'listen', /a list/],
    ['listen empty', { listen: [] }, 'listen', /empty/],
    ['listen entry not an IP', { listen: ['0.0.0.0', 'localhost'] }, 'listen[1]', /IPv4 or IPv6/],
    ['listen entry twice', { listen: ['::', '::'] }, 'listen[1]', /twice/],
    ['listen entry a number', { listen: [0] }, 'listen[0]'],
    ['dns server a name', { dns: { servers: ['dns.example.com'] } }, 'dns.servers[0]'],
    ['dns server port 0', { dns: { servers: ['127.0.0.1', '127.0.0.1:0'] } }, 'dns.servers[1]', /port/],
    ['dns server port missing', { dns: { servers: ['127.0.0.1:'] } }, 'dns.servers[0]'],
    ['dns server IPv6 port without brackets', { dns: { servers: ['::1:99999'] } }, 'dns.servers[0]'],
    ['dns server bad bracketed port', { dns: { servers: ['[::1]:dns'] } }, 'dns.servers[0]'],
    ['dns server IPv4 in brackets', { dns: { servers: ['[127.0.0.1]:53'] } }, 'dns.servers[0]'],
    ['dns servers not a list', { dns: { servers: '127.0.0.1' } }, 'dns.servers'],
    ['hostname with underscore', { hostname: 'mail_1.example.com' }, 'hostname', /host name/],
    ['hostname empty', { hostname: '' }, 'hostname'],
    ['hostname label starts with hyphen', { hostname: '-mail.example.com' }, 'hostname'],
    ['hostname empty label', { hostname: 'mail..example.com' }, 'hostname'],
    ['hostname an IP address', { hostname: '192.0.2.1' }, 'hostname'],
    ['hostname label too long', { hostname: `${'a'.repeat(64)}.example.com` }, 'hostname'],
    ['hostname not a string', { hostname: 42 }, 'hostname'],
    ['log level unknown', { log: { level: 'verbose' } }, 'log.level', /one of fatal, error/],
    ['panel driver unknown', { panel: { driver: 'gpio' } }, 'panel.driver', /one of auto, pi, memory, none/],
    ['message size too small', { smtp: { maxMessageSize: 1023 } }, 'smtp.maxMessageSize', /at least 1024/],
    ['zero recipients', { smtp: { maxRecipients: 0 } }, 'smtp.maxRecipients', /positive integer/],
    ['fractional limit', { queue: { maxInFlight: 1.5 } }, 'queue.maxInFlight'],
    ['limit as string', { queue: { retryFirstSeconds: '300' } }, 'queue.retryFirstSeconds'],
    ['timer beyond setTimeout', { smtp: { authFailureDelayMs: 2 ** 31 } }, 'smtp.authFailureDelayMs'],
    ['no failures allowed per account', { smtp: { authAccountFailureLimit: 0 } }, 'smtp.authAccountFailureLimit', /positive integer/],
    ['failures per connection fractional', { smtp: { authFailuresPerConnection: 2.5 } }, 'smtp.authFailuresPerConnection'],
    ['known address time as string', { smtp: { authKnownAddressSeconds: '30d' } }, 'smtp.authKnownAddressSeconds', /got "30d"/],
    ['mx port 0', { delivery: { mxPort: 0 } }, 'delivery.mxPort'],
    ['dataDir empty', { dataDir: '' }, 'dataDir'],
    ['dataDir not a string', { dataDir: 5 }, 'dataDir'],
    ['top level a list', '[]', 'config', /JSON object/],
    ['top level null', 'null', 'config', /JSON object/],
    ['invalid JSON', '{"ports": {', 'config', /config\.json: invalid JSON: /],
    ['empty file', '', 'config', /invalid JSON/],
  ];
  for (const [name, file, key, message] of cases) {
    let caught: unknown;
    try {
      loadFrom(t, file);
    } catch (err) {
      caught = err;
    }
    if (!(caught instanceof ConfigError)) {
      t.fail(`${name}: expected a ConfigError, got ${String(caught)}`);
      continue;
    }
    t.equal(caught.key, key, `${name}: key`);
    t.ok(caught.message.startsWith(`${key}: `), `${name}: message starts with the key`);
    if (message) t.match(caught.message, message, `${name}: message`);
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
});

t.test('file choice and precedence', async (t) => {
  const dir = tmpDir(t);
  const fromFlag = writeConfig(dir, { hostname: 'flag.example' }, 'flag.json');
  const fromEnv = writeConfig(dir, { hostname: 'env.example' }, 'env.json');
  const system = writeConfig(dir, { hostname: 'system.example' }, 'system.json');

  t.equal(loadConfig(isolated(dir, { file: fromFlag, env: { LETTERBOX_CONFIG: fromEnv } })).hostname, 'flag.example', '--config beats $LETTERBOX_CONFIG');
  t.equal(loadConfig(isolated(dir, { env: { LETTERBOX_CONFIG: fromEnv }, systemFile: system })).hostname, 'env.example', '$LETTERBOX_CONFIG beats the system file');
  t.equal(loadConfig(isolated(dir, { env: { LETTERBOX_CONFIG: '' }, systemFile: system })).hostname, 'system.example', 'empty $LETTERBOX_CONFIG counts as unset');
  t.equal(loadConfig(isolated(dir, { systemFile: system })).hostname, 'system.example', 'system file when present');
  t.equal(loadConfig(isolated(dir)).hostname, os.hostname(), 'built-in defaults when no file at all');
  t.equal(loadConfig(isolated(dir, { file: 'flag.json' })).hostname, 'flag.example', 'relative --config is relative to cwd');

  const envOverFile = loadConfig(isolated(dir, { file: writeConfig(dir, { dataDir: '/from/file' }, 'dd.json'), env: { LETTERBOX_DATA_DIR: '/from/env' } }));
  t.equal(envOverFile.dataDir, '/from/env', '$LETTERBOX_DATA_DIR beats the file');
  t.ok(Object.isFrozen(envOverFile), 'still frozen after the override');

  t.throws(
    () => loadConfig(isolated(dir, { file: writeConfig(dir, { dataDir: 5 }, 'bad-dd.json'), env: { LETTERBOX_DATA_DIR: '/from/env' } })),
    { name: 'ConfigError', key: 'dataDir' },
    'a bad dataDir in the file is reported even when the environment overrides it',
  );
});

t.test('a named file that is missing or unreadable', async (t) => {
  const dir = tmpDir(t);
  const missing = path.join(dir, 'nope.json');
  t.throws(() => loadConfig(isolated(dir, { file: missing })), { name: 'ConfigError', key: 'config', message: `config: ${missing}: no such file` }, 'via --config');
  t.throws(() => loadConfig(isolated(dir, { env: { LETTERBOX_CONFIG: missing } })), { name: 'ConfigError', key: 'config', message: `config: ${missing}: no such file` }, 'via $LETTERBOX_CONFIG');
  t.throws(() => loadConfig(isolated(dir, { file: dir })), { name: 'ConfigError', key: 'config', message: /cannot read: EISDIR/ }, 'a directory');
});

t.test('development defaults', async (t) => {
  const dir = tmpDir(t);
  const dev = loadConfig(isolated(dir, { dev: true }));
  t.strictSame(dev.ports, { smtp: 2525, submission: 2587, smtps: 2465, imap: 2143, imaps: 2993, pop3: 2110, pop3s: 2995, http: 8080, https: 8443 });
  t.strictSame(dev.listen, ['127.0.0.1']);
  t.equal(dev.panel.driver, 'memory');
  t.equal(dev.hostname, 'localhost');
  t.equal(dev.log.level, 'info');
  t.equal(dev.dataDir, path.join(dir, 'data'), './data is relative to cwd');
  t.equal(dev.smtp.maxMessageSize, 52428800);
  t.equal(dev.queue.expireAfterSeconds, 432000);

  const devWithFile = loadConfig(isolated(dir, { dev: true, file: writeConfig(dir, { ports: { smtp: 3025 } }) }));
  t.equal(devWithFile.ports.smtp, 3025, 'a file overrides the dev defaults');
  t.equal(devWithFile.ports.imap, 2143, 'and keeps the rest of them');

  const appliance = loadConfig(isolated(dir));
  t.strictSame(appliance.smtp, dev.smtp, 'smtp limits are the same in both');
  t.strictSame(appliance.queue, dev.queue, 'queue timings are the same in both');
  t.strictSame(appliance.smtp, {
    maxMessageSize: 52428800, maxRecipients: 100, maxConnections: 200, maxConnectionsPerClient: 20, socketTimeoutSeconds: 300,
    authFailureDelayMs: 1000, authFailureMaxDelayMs: 16000, authFailureLimit: 10, authFailureWindowSeconds: 900,
    authAccountFailureLimit: 20, authKnownAddressSeconds: 2592000, authFailuresPerConnection: 3,
    tlsHandshakeSeconds: 10, commandTimeoutSeconds: 300, minDataRate: 16384, sessionTimeoutSeconds: 3600, junkCommandLimit: 100,
    unknownRecipientsBeforeDelay: 3, unknownRecipientLimit: 20,
  });
  t.strictSame(appliance.queue, {
    retryFirstSeconds: 300, retryMaxSeconds: 3600, warnAfterSeconds: 14400, expireAfterSeconds: 432000,
    maxInFlight: 20, maxInFlightPerDomain: 4, connectTimeoutSeconds: 30, commandTimeoutSeconds: 300,
  });
  t.strictSame([appliance.dns.servers, appliance.delivery.mxPort], [[], 25]);
});

t.test('the result is deeply frozen', async (t) => {
  const config = loadFrom(t, { ports: { smtp: 2500 } });
  for (const part of [config, config.ports, config.listen, config.dns.servers, config.smtp, config.queue, config.panel]) {
    t.ok(Object.isFrozen(part));
  }
  t.throws(() => {
    (config.ports as { smtp: number }).smtp = 1;
  }, TypeError);
  t.throws(() => {
    (config.listen as string[]).push('::1');
  }, TypeError);
  t.equal(loadFrom(t, {}).ports.smtp, 25, 'one load does not leak into the next');
});

t.test('relative dataDir', async (t) => {
  const dir = tmpDir(t);
  const cwd = path.join(dir, 'work');
  const file = writeConfig(dir, { dataDir: 'mail' }, 'etc/config.json');
  t.equal(loadConfig(isolated(dir, { file, cwd })).dataDir, path.join(dir, 'etc', 'mail'), 'from the file: next to the file');
  t.equal(loadConfig(isolated(dir, { file, cwd, env: { LETTERBOX_DATA_DIR: 'spool' } })).dataDir, path.join(cwd, 'spool'), 'from the environment: against cwd');
  const noDataDir = writeConfig(dir, { hostname: 'x.example' }, 'etc/other.json');
  t.equal(loadConfig(isolated(dir, { file: noDataDir, cwd, dev: true })).dataDir, path.join(cwd, 'data'), 'from the defaults: against cwd');
  t.equal(loadConfig(isolated(dir, { file: writeConfig(dir, { dataDir: '../up' }, 'etc/up.json') })).dataDir, path.join(dir, 'up'), 'normalised');
});

t.test('parseDnsServer', async (t) => {
  const good: Array<[string, string, number]> = [
    ['192.0.2.53', '192.0.2.53', 53],
    ['127.0.0.1:5353', '127.0.0.1', 5353],
    ['::1', '::1', 53],
    ['2001:db8::53', '2001:db8::53', 53],
    ['[::1]:5353', '::1', 5353],
    ['[2001:db8::1]', '2001:db8::1', 53],
    ['10.0.0.1:65535', '10.0.0.1', 65535],
  ];
  for (const [input, host, port] of good) t.strictSame(parseDnsServer(input), { host, port }, input);

  const bad = ['', 'localhost', 'localhost:53', '127.0.0.1:65536', '127.0.0.1:0x35', '127.0.0.1:+53', '[::1]:', '[::1', '::1]:53', '1.2.3:53', ' 127.0.0.1'];
  for (const input of bad) t.throws(() => parseDnsServer(input), { name: 'ConfigError', key: 'dns.servers' }, JSON.stringify(input));
  t.throws(() => parseDnsServer('x', 'dns.servers[3]'), { name: 'ConfigError', key: 'dns.servers[3]' }, 'names the key it is given');
});
