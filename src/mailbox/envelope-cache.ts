// Rendered ENVELOPEs by message id, least recently used first out. A client's sync asks for every
// message's ENVELOPE again and again (`UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE)`); with the envelope
// at hand, the message's index need not be read and parsed. A stored message never changes, so an
// entry is never stale; it only ages out. The size bounds the memory (an envelope is a few hundred
// bytes), and should be at least a large folder's count, or a scan of it evicts what it needs next.
// Envelopes are kept as JSON text: one flat string costs a third of the nested arrays it stands for,
// and parsing a few hundred bytes back is cheap next to reading and parsing a whole index.
import type { StructureValue } from '../imap/backend.js';

export const DEFAULT_ENVELOPE_CACHE = 10_000;

export class EnvelopeCache {
  private readonly entries = new Map<string, string>();

  constructor(readonly capacity = DEFAULT_ENVELOPE_CACHE) {}

  get(messageId: string): StructureValue | undefined {
    const text = this.text(messageId);
    return text === undefined ? undefined : (JSON.parse(text) as StructureValue);
  }

  /** The envelope as JSON text, parsed only if it is wanted (the server may have it encoded already). */
  text(messageId: string): string | undefined {
    const text = this.entries.get(messageId);
    if (text === undefined) return undefined;
    // Map keeps insertion order: moving the entry to the end makes the first one the least recently used.
    this.entries.delete(messageId);
    this.entries.set(messageId, text);
    return text;
  }

  /** Keeps the envelope; returns it as the JSON text kept (what the store's summary holds too). */
  set(messageId: string, envelope: StructureValue): string {
    const text = JSON.stringify(envelope);
    this.setText(messageId, text);
    return text;
  }

  setText(messageId: string, text: string): void {
    if (this.capacity <= 0) return;
    this.entries.delete(messageId);
    this.entries.set(messageId, text);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}
