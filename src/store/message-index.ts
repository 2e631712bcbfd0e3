// Indexing a message already stored (the migration to schema 2, and `letterbox check` for a message
// without an index): its chunks read in order and fed to a MessageIndexer, one chunk in memory at a time.
import type { MessageIndexerFactory } from '../core/interfaces.js';
import type { Sublevels } from './db.js';
import { chunkRange } from './ids.js';

/** The index of a stored message, or undefined when the indexer failed (it must not, but a store outlives bugs). */
export async function indexStoredMessage(sub: Sublevels, messageId: string, factory: MessageIndexerFactory): Promise<unknown> {
  try {
    const indexer = factory();
    for await (const value of sub.bodies.values(chunkRange(messageId))) indexer.write(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    return indexer.end();
  } catch {
    return undefined;
  }
}
