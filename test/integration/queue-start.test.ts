// Start-up survives whatever the queue holds (issue 15): the queue is read before the servers listen,
// so an entry an older version bloated with a remote's megabytes of reply text, or one that is not a
// queue entry at all, must neither stop the appliance nor be served as it is.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Store } from '../../src/store/index.js';
import { startAppliance } from '../helpers/appliance.js';

const BLOAT = `450 4.2.2 ${'x'.repeat(5 * 1024 * 1024)}`;

t.test('a bloated entry is read cut down and malformed ones are set aside; the appliance starts and serves', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-queue-start-'));
  fs.chmodSync(dataDir, 0o700);
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const store = await Store.open(path.join(dataDir, 'store'));
  const writer = await store.createMessage();
  await writer.write(Buffer.from('Subject: bloated\r\n\r\nbody\r\n'));
  const { queueId } = await writer.commit({ mailboxes: [], queue: { sender: 'alice@example.com', recipients: [{ address: 'carol@remote.test' }] } });
  const entry = await store.getQueueEntry(queueId ?? '');
  if (!entry?.recipients[0]) throw new Error('no entry to bloat');
  // As an older version wrote it: every copy of a megabyte reply kept whole, retried in a day.
  Object.assign(entry.recipients[0], { state: 'deferred', attempts: 1, lastError: BLOAT, nextAttemptAt: Date.now() + 86_400_000 });
  entry.lastError = BLOAT;
  await store.sub.queue.put(entry.id, entry);
  await store.sub.queue.put('not-an-entry', 42);
  await store.sub.queue.put('no-recipients', { id: 'no-recipients', messageId: 'm', sender: '', size: 1, createdAt: 1, recipients: 'carol' });
  await store.close();

  const app = await startAppliance({ dataDir });
  t.teardown(() => app.cleanup());
  const repaired = await app.waitForLog((e) => e.msg === 'the store check repaired the store; damaged messages were set aside', 'the check setting the malformed entries aside');
  t.match(JSON.stringify(repaired.damaged), /not-an-entry[\s\S]*no-recipients|no-recipients[\s\S]*not-an-entry/, 'both malformed entries named');

  const listed = await app.cli(['queue', 'list', '--json']);
  t.equal(listed.code, 0, 'the queue lists');
  const entries = JSON.parse(listed.stdout) as { id: string; recipients: { lastError?: string }[] }[];
  t.same(entries.map((e) => e.id), [queueId], 'the bloated entry is queued, nothing else');
  const kept = entries[0]?.recipients[0]?.lastError ?? '';
  t.ok(kept.length <= 1010, `its answer is read as ${kept.length} characters, not 5 MB`);
  t.match(kept, /^450 4\.2\.2 x+ \[\.\.\.\]$/, 'the codes whole, in front');
  t.ok(listed.stdout.length < 16 * 1024, `queue list is ${listed.stdout.length} bytes`);

  const status = await app.cli(['status', '--json']);
  t.equal(status.code, 0, 'the appliance answers');
});
