// FETCH over a live folder: the messages asked for that are still there, in UID order, their indexes
// loaded in batches (one FolderStore.messageIndexes call per batch) and only when FETCH needs them.
// A message the store has no index for (stored before indexing, or its index lost) is indexed from
// its bytes then, so FETCH never fails for want of one. With only ENVELOPE wanted (a client's sync), the
// envelope comes from the LRU, else from the store's summaries, else it is rendered from the index and
// saved as the message's summary, so the next sync, after a restart too, reads no index.
import { isLetterboxError } from '../core/errors.js';
import type { FolderStore } from '../core/interfaces.js';
import type { FetchNeeds, MessageView } from '../imap/backend.js';
import type { LiveFolder } from './live-folder.js';
import type { EnvelopeCache } from './envelope-cache.js';
import { StoredMessageView, type ViewSource } from './message-view.js';
import { envelopeValue, indexMessage, type MessageIndex } from './mime/index.js';

/** Messages per messageIndexes() call: large enough to amortise the call, small enough to hold little. */
const BATCH = 250;
/** Summaries made are saved a thousand at a time (one write-lane job, sharing its fsync with others). */
const SAVE_EVERY = 1_000;

function looksLikeIndex(value: unknown): value is MessageIndex {
  return typeof value === 'object' && value !== null && typeof (value as MessageIndex).size === 'number' && typeof (value as MessageIndex).root === 'object' && (value as MessageIndex).root !== null;
}

/**
 * The store's summary of a message, written with it at commit (Store.open's `summarize`): its ENVELOPE
 * as the JSON text knownEnvelopes() reads, so the first sync after delivery reads no index.
 */
export function envelopeSummary(index: unknown): string | undefined {
  return looksLikeIndex(index) ? JSON.stringify(envelopeValue(index.root.envelope)) : undefined;
}

/** The message's index as stored, or made now from its bytes. */
export async function indexOf(store: FolderStore, messageId: string, stored?: unknown): Promise<MessageIndex> {
  const found = stored === undefined ? (await store.messageIndexes([messageId]))[0] : stored;
  if (looksLikeIndex(found)) return found;
  return indexMessage(store.readMessage(messageId) as AsyncIterable<Uint8Array>);
}

/** The index made from the bytes; null when the message went meanwhile (expunged by another session). */
async function indexOrNull(store: FolderStore, messageId: string): Promise<MessageIndex | null> {
  try {
    return await indexOf(store, messageId, null);
  } catch (err) {
    if (isLetterboxError(err, 'NOT_FOUND')) return null;
    throw err;
  }
}

function ascending(uids: readonly number[]): readonly number[] {
  for (let i = 1; i < uids.length; i++) if (uids[i]! <= uids[i - 1]!) return [...new Set(uids)].sort((a, b) => a - b);
  return uids;
}

/** ENVELOPEs from the LRU (as text) or the store's summaries; fills `source.envelopeText` or `.envelope`. */
async function knownEnvelopes(store: FolderStore, envelopes: EnvelopeCache, sources: ViewSource[]): Promise<void> {
  for (const source of sources) source.envelopeText = envelopes.text(source.messageId);
  const missing = sources.filter((source) => source.envelopeText === undefined);
  if (missing.length === 0 || !store.messageSummaries) return;
  const summaries = await store.messageSummaries(missing.map((source) => source.messageId));
  missing.forEach((source, i) => {
    // The ENVELOPE as JSON text (saved below): kept as text, parsed only if the server needs it.
    const summary = summaries[i];
    if (typeof summary !== 'string' || !summary.startsWith('[')) return;
    source.envelopeText = summary;
    envelopes.setText(source.messageId, summary);
  });
}

/** Summaries to save, written once the FETCH is done (a cache: a failure costs only the next read). */
function saveLater(store: FolderStore, made: { messageId: string; summary: string }[]): void {
  if (made.length === 0 || !store.saveSummaries) return;
  store.saveSummaries(made).catch(() => {});
}

export async function* fetchMessages(live: LiveFolder, store: FolderStore, envelopes: EnvelopeCache, uids: readonly number[], needs: FetchNeeds): AsyncGenerator<MessageView> {
  const sorted = ascending(uids);
  const loadIndex = (messageId: string) => indexOf(store, messageId);
  const made: { messageId: string; summary: string }[] = [];
  try {
    yield* batches(live, store, envelopes, sorted, needs, made, loadIndex);
  } finally {
    saveLater(store, made);
  }
}

async function* batches(
  live: LiveFolder,
  store: FolderStore,
  envelopes: EnvelopeCache,
  sorted: readonly number[],
  needs: FetchNeeds,
  made: { messageId: string; summary: string }[],
  loadIndex: (messageId: string) => Promise<MessageIndex>,
): AsyncGenerator<MessageView> {
  for (let from = 0; from < sorted.length; from += BATCH) {
    const sources: ViewSource[] = [];
    for (let i = from; i < Math.min(from + BATCH, sorted.length); i++) {
      const at = live.position(sorted[i]!);
      if (at < 0) continue;
      sources.push({ uid: live.uids[at]!, flags: live.flagsAt(at), modseq: live.modseqs[at]!, internalDate: live.dates[at]!, size: live.sizes[at]!, messageId: live.messageIds[at]!, index: null });
    }
    if (sources.length === 0) continue;
    if (needs.index) {
      // With only ENVELOPE wanted, the indexes of messages whose envelope is known are not read.
      if (needs.envelopeOnly) await knownEnvelopes(store, envelopes, sources);
      const missing = sources.filter((source) => source.envelope === undefined && source.envelopeText === undefined);
      const indexes = missing.length > 0 ? await store.messageIndexes(missing.map((source) => source.messageId)) : [];
      for (let i = 0; i < missing.length; i++) {
        const source = missing[i]!;
        const stored = indexes[i];
        source.index = looksLikeIndex(stored) ? stored : await indexOrNull(store, source.messageId);
        if (!needs.envelopeOnly || !source.index) continue;
        source.envelope = envelopeValue(source.index.root.envelope);
        made.push({ messageId: source.messageId, summary: envelopes.set(source.messageId, source.envelope) });
      }
      if (made.length >= SAVE_EVERY) saveLater(store, made.splice(0));
    }
    for (const source of sources) {
      if (!needs.index || source.index || source.envelope !== undefined || source.envelopeText !== undefined) yield new StoredMessageView(source, store, loadIndex, envelopes);
    }
  }
}
