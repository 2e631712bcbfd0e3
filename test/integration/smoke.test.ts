import t from 'tap';
import nodemailer from 'nodemailer';
import { startAppliance, provision } from '../helpers/appliance.js';
import { withStore, readMailbox, withoutTrace } from '../helpers/mailbox.js';

t.test('a message sent to port 25 lands in the INBOX byte for byte', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, ['letterbox.test'], ['alice@letterbox.test']);
  const raw = 'From: bob@remote.test\r\nTo: alice@letterbox.test\r\nSubject: hi\r\n\r\nHello Alice\r\n.leading dot\r\n';
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: app.ports.smtp, secure: false, ignoreTLS: true });
  const info = await transport.sendMail({ envelope: { from: 'bob@remote.test', to: ['alice@letterbox.test'] }, raw });
  t.match(info.response, /^250 2\.6\.0/);
  t.equal(await app.stop(), 0);
  await withStore(app.dataDir, async (store) => {
    const mails = await readMailbox(store, 'alice@letterbox.test');
    t.equal(mails.length, 1);
    t.equal(withoutTrace(mails[0]!.bytes).toString(), raw);
  });
});
