// Reads what the appliance stored, by opening its store directly (the appliance must be stopped:
// LevelDB admits one process).
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { Store } from '../../src/store/index.js';
import type { RunningAppliance } from './appliance.js';

export interface StoredMail {
  uid: number;
  messageId: string;
  bytes: Buffer;
}

export async function withStore<T>(dataDir: string, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(join(dataDir, 'store'));
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** A stored message's bytes, as the store streams them out. */
export async function readMessage(store: Store, messageId: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of store.openMessage(messageId)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function readMailbox(store: Store, user: string, mailbox = 'INBOX'): Promise<StoredMail[]> {
  const mails: StoredMail[] = [];
  for (const entry of await store.listMailbox(user, mailbox)) {
    mails.push({ uid: entry.uid, messageId: entry.messageId, bytes: await readMessage(store, entry.messageId) });
  }
  return mails;
}

/** The message as the client sent it: the stored bytes without the Received header we put on top. */
export function withoutTrace(bytes: Buffer): Buffer {
  const text = bytes.toString('latin1');
  if (!text.startsWith('Received: ')) return bytes;
  const end = text.search(/\r\n(?![ \t])/);
  return bytes.subarray(end + 2);
}

export interface InboxMail {
  bytes: Buffer;
  parsed: ParsedMail;
}

/** Stops the appliance (LevelDB admits one process) and reads `user`'s INBOX as a mail client would. */
export async function readInbox(app: RunningAppliance, user: string): Promise<InboxMail[]> {
  const code = await app.stop();
  if (code !== 0) throw new Error(`the appliance stopped with ${code}`);
  const mails = await withStore(app.dataDir, (store) => readMailbox(store, user));
  return Promise.all(mails.map(async (mail) => ({ bytes: mail.bytes, parsed: await simpleParser(mail.bytes) })));
}
