// `letterbox check` and the check at start, as an administrator meets them: a store damaged while the
// service was down is repaired (offline, and by the next `serve`), a running service checks itself over
// the admin socket, and a certificate left empty by a cut is replaced instead of served.
import { connect as tlsConnect } from 'node:tls';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import t, { type Test } from 'tap';
import { CHUNK_SIZE } from '../../src/store/index.js';
import { chunkKey } from '../../src/store/ids.js';
import { provision, startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { withStore } from '../helpers/mailbox.js';

// Three appliances, stopped and started again.
t.setTimeout(180_000);

const ALICE = 'alice@example.com';

async function applianceWithMail(t: Test, sizes: number[]): Promise<RunningAppliance> {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, ['example.com'], [ALICE]);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: app.ports.smtp, secure: false, ignoreTLS: true });
  t.teardown(() => transport.close());
  for (const size of sizes) {
    const raw = `From: someone@elsewhere.test\r\nTo: ${ALICE}\r\nSubject: ${size}\r\n\r\n${'x'.repeat(size)}\r\n`;
    await transport.sendMail({ envelope: { from: 'someone@elsewhere.test', to: [ALICE] }, raw });
  }
  return app;
}

/** The message ids in alice's INBOX, and the longest one's (several chunks). */
async function inbox(dataDir: string): Promise<{ ids: string[]; longest: string }> {
  return withStore(dataDir, async (store) => {
    const entries = await store.listMailbox(ALICE, 'INBOX');
    const longest = entries.reduce((a, b) => (b.size > a.size ? b : a));
    return { ids: entries.map((e) => e.messageId), longest: longest.messageId };
  });
}

t.test('check offline finds a message missing a chunk, sets it aside, and then finds nothing', async (t) => {
  const app = await applianceWithMail(t, [200, 3 * CHUNK_SIZE]);
  await app.stop();
  const { longest } = await inbox(app.dataDir);
  await withStore(app.dataDir, (store) => store.sub.bodies.del(chunkKey(longest, 2)));

  const first = await app.cli(['check']);
  t.equal(first.code, 1, 'exit 1: the store needed repair');
  t.match(first.stdout, /checked 2 messages, 2 mailbox entries, 0 queue entries; every chunk read \(4\)/);
  t.match(first.stdout, new RegExp(`set aside damaged message ${longest}: 3 of its 4 chunks are present \\(was in mailbox ${ALICE} INBOX 2\\)`));
  t.match(first.stdout, /the store was repaired\n$/);

  const second = await app.cli(['check', '--json']);
  t.equal(second.code, 0);
  t.match(JSON.parse(second.stdout), { consistent: true, messages: 1, damaged: [] });
  const left = await inbox(app.dataDir);
  t.equal(left.ids.length, 1, 'the damaged message is no longer in the INBOX');
});

t.test('serve after a crash reads every message and sets the damaged one aside before it listens', async (t) => {
  const app = await applianceWithMail(t, [100, 2 * CHUNK_SIZE + 1]);
  await app.stop('SIGKILL');
  const { longest } = await inbox(app.dataDir);
  await withStore(app.dataDir, (store) => store.sub.bodies.put(chunkKey(longest, 1), new Uint8Array(10)));
  await app.restart();
  const warning = app.logs.find((l) => l.msg === 'the store check repaired the store; damaged messages were set aside');
  t.ok(warning, 'the repair is logged');
  t.match(warning, { check: { bodies: true, damaged: 1 }, damaged: [{ messageId: longest }] });

  const viaService = await app.cli(['check']);
  t.equal(viaService.code, 0, 'the running service checks itself');
  t.match(viaService.stdout, /checked 1 messages.*every chunk read \(\d+\)\nthe store is consistent\n$/s);

  await app.stop();
  await app.restart();
  t.match(app.logs.filter((l) => l.msg === 'store checked').at(-1), { uncleanStop: false, check: { bodies: false } }, 'after a clean stop only the records are read');
});

t.test('an empty certificate and key left by a cut are set aside and replaced, never served', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await app.stop();
  const tls = join(app.dataDir, 'tls');
  mkdirSync(tls, { recursive: true });
  writeFileSync(join(tls, 'key.pem'), '');
  writeFileSync(join(tls, 'cert.pem'), '');
  await app.restart();
  t.match(app.logs.find((l) => /could not be used/.test(String(l.msg))), { problem: 'the certificate file is empty' });
  t.same(readdirSync(tls).sort(), ['cert.pem', 'cert.pem.bad', 'key.pem', 'key.pem.bad']);
  const protocol = await new Promise<string | null>((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: app.ports.smtps, rejectUnauthorized: false }, () => {
      resolve(socket.getProtocol());
      socket.end();
    });
    socket.once('error', reject);
  });
  t.match(protocol, /^TLSv1\.[23]$/, 'port 465 completes a handshake');
});
