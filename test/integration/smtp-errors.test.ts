// The error boundary (DESIGN.md principle 7), with the real store failing under a running SMTP service:
// RCPT TO and DATA are answered `451 4.3.0` (never a permanent 5xx, never internal text),
// and the fault is logged once, at error level, with its stack.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { applianceDefaults } from '../../src/config/index.js';
import { EventBus } from '../../src/core/events.js';
import { LoginGuard } from '../../src/core/login-guard.js';
import { Intake } from '../../src/queue/intake.js';
import { SmtpService } from '../../src/smtp/server.js';
import { Store } from '../../src/store/index.js';
import { loadOrCreateCertificate } from '../../src/tls/certificate.js';
import { capturedLog } from '../helpers/delivery.js';
import { SmtpClient } from '../helpers/smtp.js';

const ALICE = 'alice@example.com';
const FAULT = /^451 4\.3\.0 Temporary local problem; please try again later$/;

async function serviceOnStore(t: Test) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-errors-'));
  const store = await Store.open(path.join(dataDir, 'store'));
  await store.directory.addDomain('example.com');
  await store.directory.addUser(ALICE, 'a long password');
  const tls = await loadOrCreateCertificate(dataDir, 'mx.letterbox.test');
  const captured = capturedLog();
  const smtp = new SmtpService(
    { ...applianceDefaults().smtp, hostname: 'mx.letterbox.test' },
    { directory: store.directory, authenticator: store.directory, loginGuard: new LoginGuard(applianceDefaults().smtp), store, intake: new Intake(store.directory, () => {}), bus: new EventBus(() => {}), log: captured.log, tls },
  );
  const [endpoint] = await smtp.listen([{ listener: 'mx', host: '127.0.0.1', port: 0 }]);
  t.teardown(async () => {
    await smtp.stop(100);
    await store.close().catch(() => {});
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { store, port: endpoint?.port ?? 0, captured };
}

/** The store, failing from now on as a broken disk would: every read and write rejects. */
async function breakStore(store: Store): Promise<void> {
  await store.db.close();
}

function faultLines(captured: ReturnType<typeof capturedLog>) {
  return captured.lines().filter((l) => l.level === 50);
}

t.test('a store failing during RCPT TO is answered 451 4.3.0 and logged with its stack', async (t) => {
  const { store, port, captured } = await serviceOnStore(t);
  const client = await SmtpClient.connect(port);
  t.teardown(() => client.quit());
  await client.ehlo();
  t.equal((await client.command('MAIL FROM:<someone@elsewhere.test>')).code, 250);
  await breakStore(store);
  const rcpt = await client.command(`RCPT TO:<${ALICE}>`);
  t.match(rcpt.raw, FAULT, 'a temporary reply, no internal text');
  const again = await client.command(`RCPT TO:<${ALICE}>`);
  t.match(again.raw, FAULT, 'the session goes on; the next try is answered alike');
  const faults = faultLines(captured);
  t.same(faults.map((l) => l.msg), ['RCPT TO failed', 'RCPT TO failed']);
  t.match(faults[0], { err: { stack: /Error/ } }, 'the log keeps the stack');
});

t.test('a store failing while a message is committed is answered 451 4.3.0; nothing of it is kept', async (t) => {
  const { store, port, captured } = await serviceOnStore(t);
  const client = await SmtpClient.connect(port);
  t.teardown(() => client.quit());
  await client.ehlo();
  t.equal((await client.command('MAIL FROM:<someone@elsewhere.test>')).code, 250);
  t.equal((await client.command(`RCPT TO:<${ALICE}>`)).code, 250);
  t.equal((await client.command('DATA')).code, 354);
  await breakStore(store);
  client.write('Subject: lost\r\n\r\nbody\r\n.\r\n');
  t.match((await client.reply()).raw, FAULT);
  t.same(faultLines(captured).map((l) => l.msg), ['DATA failed']);
});
