// Reads what the appliance stored, by opening its store directly (the appliance must be stopped:
// LevelDB admits one process).
import { join } from 'node:path';
import { Store } from '../../src/store/index.js';

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

export async function readMailbox(store: Store, user: string, mailbox = 'INBOX'): Promise<StoredMail[]> {
  const mails: StoredMail[] = [];
  for (const entry of await store.listMailbox(user, mailbox)) {
    const chunks: Buffer[] = [];
    for await (const chunk of store.openMessage(entry.messageId)) chunks.push(chunk as Buffer);
    mails.push({ uid: entry.uid, messageId: entry.messageId, bytes: Buffer.concat(chunks) });
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
