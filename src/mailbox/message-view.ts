// One message for FETCH and SEARCH, over its entry and its index: structures rendered from the index,
// sections read as byte ranges (sections.ts), nothing parsed again.
import type { FolderStore } from '../core/interfaces.js';
import type { MessageView, SectionSpec, StructureValue } from '../imap/backend.js';
import { binaryOf, hasEncodedLeaves } from './binary-content.js';
import { decodedValue, pickFields, rawFields } from './header-block.js';
import type { EnvelopeCache } from './envelope-cache.js';
import { readBytes } from './message-bytes.js';
import { bodyStructureValue, envelopeValue, type ByteRange, type MessageIndex, type MimePart } from './mime/index.js';
import { searchableText } from './search-text.js';
import { locate, planSection } from './sections.js';
import { sentDay } from './sent-date.js';

/** What a view is made of: the entry as the live folder has it, and the index when FETCH needs it. */
export interface ViewSource {
  uid: number;
  flags: readonly string[];
  modseq: number;
  internalDate: number;
  size: number;
  messageId: string;
  index: MessageIndex | null;
  /** The rendered ENVELOPE when the cache had it (the index may then be absent). */
  envelope?: StructureValue | undefined;
  /** Or the same as JSON text, parsed when asked for. */
  envelopeText?: string | undefined;
}

const EMPTY = Buffer.alloc(0);

export class StoredMessageView implements MessageView {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: number;
  readonly size: number;
  readonly messageId: string;
  private readonly date: number;
  private index: MessageIndex | null;
  private cachedEnvelope: StructureValue | undefined;
  private envelopeText: string | undefined;
  private whole: Promise<Buffer> | null = null;
  private topHeader: Promise<Buffer> | null = null;

  constructor(
    source: ViewSource,
    private readonly store: FolderStore,
    /** Loads the index when FETCH did not ask for it but SEARCH or a section needs it. */
    private readonly loadIndex: (messageId: string) => Promise<MessageIndex>,
    private readonly envelopes?: EnvelopeCache,
  ) {
    this.uid = source.uid;
    this.flags = source.flags;
    this.modseq = source.modseq;
    this.date = source.internalDate;
    this.size = source.size;
    this.messageId = source.messageId;
    this.index = source.index;
    this.cachedEnvelope = source.envelope;
    this.envelopeText = source.envelopeText;
  }

  get internalDate(): Date {
    return new Date(this.date);
  }

  envelope(): StructureValue {
    if (this.cachedEnvelope === undefined && this.envelopeText !== undefined) this.cachedEnvelope = JSON.parse(this.envelopeText) as StructureValue;
    if (this.cachedEnvelope === undefined) {
      this.cachedEnvelope = envelopeValue(this.loadedIndex().root.envelope);
      this.envelopes?.set(this.messageId, this.cachedEnvelope);
    }
    return this.cachedEnvelope;
  }

  bodyStructure(extended: boolean): StructureValue {
    return bodyStructureValue(this.loadedIndex().root, { extended });
  }

  async section(spec: SectionSpec): Promise<Buffer> {
    const plan = planSection(await this.indexNow(), spec);
    if (plan.kind === 'empty') return EMPTY;
    if (plan.kind === 'range') return this.read(plan.range.start, plan.range.length);
    return pickFields(await this.read(plan.range.start, plan.range.length), plan.names, plan.exclude);
  }

  async binary(path: number[]): Promise<Buffer> {
    const target = await this.binaryTarget(path);
    if (!target) return EMPTY;
    const { part, region, withHeader } = target;
    return binaryOf(part, region, await this.read(region.start, region.length), withHeader);
  }

  async binarySize(path: number[]): Promise<number> {
    const target = await this.binaryTarget(path);
    if (!target) return 0;
    // Nothing inside needs decoding: the size is known without reading a byte.
    if (!hasEncodedLeaves(target.part)) return target.region.length;
    return (await this.binary(path)).length;
  }

  async headerValues(name: string): Promise<string[]> {
    const wanted = name.toLowerCase();
    return rawFields(await this.header()).filter((field) => field.name === wanted).map(decodedValue);
  }

  sentDate(): Date | null {
    if (this.index) return sentDay(this.index.root.envelope?.date ?? null);
    // RFC 3501 7.4.2: the date is the envelope's first item.
    const date = Array.isArray(this.cachedEnvelope) ? this.cachedEnvelope[0] : null;
    return sentDay(typeof date === 'string' ? date : null);
  }

  async searchText(scope: 'body' | 'text'): Promise<string> {
    const index = await this.indexNow();
    this.whole ??= readBytes(this.store, this.messageId);
    return searchableText(await this.whole, index, scope);
  }

  /** RFC 3516: what BINARY[path] covers: the whole message for `[]`, else the part's body. */
  private async binaryTarget(path: readonly number[]): Promise<{ part: MimePart; region: ByteRange; withHeader: boolean } | null> {
    const index = await this.indexNow();
    if (path.length === 0) return { part: index.root, region: { start: 0, length: index.size }, withHeader: true };
    const located = locate(index, path);
    return located ? { part: located.part, region: located.part.body, withHeader: false } : null;
  }

  private loadedIndex(): MessageIndex {
    if (!this.index) throw new Error('MessageView: the index was not loaded (FetchNeeds.index was false)');
    return this.index;
  }

  private async indexNow(): Promise<MessageIndex> {
    this.index ??= await this.loadIndex(this.messageId);
    return this.index;
  }

  private async header(): Promise<Buffer> {
    const index = await this.indexNow();
    this.topHeader ??= this.whole ? this.whole.then((bytes) => bytes.subarray(0, index.root.header.length)) : this.read(index.root.header.start, index.root.header.length);
    return this.topHeader;
  }

  private async read(start: number, length: number): Promise<Buffer> {
    if (length <= 0) return EMPTY;
    if (this.whole) return (await this.whole).subarray(start, start + length);
    return readBytes(this.store, this.messageId, { start, length });
  }
}
