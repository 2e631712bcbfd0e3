// The log: pino JSON lines, a child logger per connection ({svc, cid}) and per message ({msgid}), and
// no secret anywhere — not the passwords given to `letterbox user add` over the admin socket, not
// AUTH PLAIN/LOGIN payloads, right or wrong, even at the most verbose level.
import t from 'tap';
import { startAppliance, provision, passwordOf } from '../helpers/appliance.js';
import { SmtpClient } from '../helpers/smtp.js';

t.test('logs carry connection and message ids and never a password', async (t) => {
  const app = await startAppliance({ config: { log: { level: 'trace' }, smtp: { authFailureDelayMs: 10 } } });
  t.teardown(() => app.cleanup());
  await provision(app, ['letterbox.test'], ['alice@letterbox.test']);
  const right = passwordOf('alice@letterbox.test');
  const wrong = 'Wr0ng-but-secret-guess';
  const passwd = await app.cli(['user', 'passwd', 'alice@letterbox.test', '--password-stdin'], `${right}\n`);
  t.equal(passwd.code, 0, 'passwd through the admin socket');

  const client = await SmtpClient.connect(app.ports.smtps, { implicitTls: true });
  await client.ehlo();
  t.equal((await client.authPlain('alice@letterbox.test', wrong)).code, 535);
  t.equal((await client.authLogin('alice@letterbox.test', wrong)).code, 535);
  t.equal((await client.authPlain('alice@letterbox.test', right)).code, 235);
  const replies = await client.transaction('alice@letterbox.test', ['alice@letterbox.test'], 'Subject: log test\r\n\r\nbody\r\n');
  t.equal(replies.at(-1)?.code, 250);
  await client.quit();
  t.equal(await app.stop(), 0);

  const text = JSON.stringify(app.logs);
  for (const secret of [right, wrong]) {
    t.notOk(text.includes(secret), 'the password never appears');
    t.notOk(text.includes(Buffer.from(secret).toString('base64')), 'nor its base64 (AUTH LOGIN)');
    t.notOk(text.includes(Buffer.from(`\0alice@letterbox.test\0${secret}`).toString('base64')), 'nor the AUTH PLAIN payload');
  }
  const failed = app.logs.filter((entry) => entry.msg === 'AUTH failed');
  t.equal(failed.length, 2, 'each failed AUTH is logged');
  t.ok(failed.every((entry) => entry.svc === 'smtps' && typeof entry.cid === 'string'), 'with the service and connection id');
  const accepted = app.logs.find((entry) => entry.msg === 'message accepted');
  t.match(accepted, { svc: 'smtps', cid: String, msgid: String }, 'an accepted message names its connection and message id');
  t.ok(app.logs.some((entry) => entry.svc === 'admin' && entry.op === 'user.passwd'), 'admin operations are logged by name');
});
