// The `imap` section of the configuration: its defaults (the same in both sets), overrides, and the
// key a bad value is reported under.
import t from 'tap';
import { buildConfig } from '../../src/config/index.js';

t.test('defaults', async (t) => {
  const appliance = buildConfig({});
  t.strictSame(appliance.imap, {
    maxMessageSize: 52_428_800,
    maxLineLength: 65_536,
    maxBadCommands: 20,
    loginFailuresPerConnection: 3,
    idleTimeoutSeconds: 1_800,
    maxSessionsPerUser: 20,
    maxConnectionsPerAddress: 50,
  });
  t.equal(appliance.imap.maxMessageSize, appliance.smtp.maxMessageSize, 'APPEND takes what SMTP takes');
  t.strictSame(buildConfig({}, { dev: true }).imap, appliance.imap, 'the same under --dev');
  t.ok(Object.isFrozen(appliance.imap));
});

t.test('overrides keep the other keys', async (t) => {
  const config = buildConfig({ imap: { idleTimeoutSeconds: 60, maxSessionsPerUser: 3 } });
  t.strictSame([config.imap.idleTimeoutSeconds, config.imap.maxSessionsPerUser, config.imap.maxBadCommands], [60, 3, 20]);
});

t.test('bad values name their key', async (t) => {
  const cases: [unknown, string, RegExp][] = [
    [{ imap: { maxMessageSize: 100 } }, 'imap.maxMessageSize', /at least 1024/],
    [{ imap: { maxLineLength: 1000 } }, 'imap.maxLineLength', /from 8192/],
    [{ imap: { maxBadCommands: 0 } }, 'imap.maxBadCommands', /positive integer/],
    [{ imap: { idleTimeoutSeconds: '1800' } }, 'imap.idleTimeoutSeconds', /got "1800"/],
    [{ imap: { idleTimeoutSeconds: 2 ** 31 } }, 'imap.idleTimeoutSeconds', /integer from 1/],
    [{ imap: { maxSessionsPerUser: 1.5 } }, 'imap.maxSessionsPerUser', /positive integer/],
    [{ imap: { maxConnectionsPerAddress: -1 } }, 'imap.maxConnectionsPerAddress', /positive integer/],
    [{ imap: { maxSessions: 5 } }, 'imap.maxSessions', /unknown key/],
    [{ imap: null }, 'imap', /must be an object/],
  ];
  for (const [file, key, message] of cases) t.throws(() => buildConfig(file), { name: 'ConfigError', key, message }, key);
});
