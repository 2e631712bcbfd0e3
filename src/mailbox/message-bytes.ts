// Reading stored bytes: a range of a message (only the chunks that hold it, FolderStore.readMessage)
// into one buffer.
import type { FolderStore } from '../core/interfaces.js';
import type { ByteRange } from './mime/index.js';

const EMPTY = Buffer.alloc(0);

export async function readBytes(store: FolderStore, messageId: string, range?: ByteRange): Promise<Buffer> {
  if (range && range.length <= 0) return EMPTY;
  const stream = store.readMessage(messageId, range ? { start: range.start, end: range.start + range.length } : undefined);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
