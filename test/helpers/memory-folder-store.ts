// An in-memory FolderStore (src/core/interfaces.ts), with the createMessage() of MailStore it needs and
// a tiny directory (users, passwords, quotas: an Authenticator), for testing what is built on folders
// (the IMAP backend of src/mailbox, the IMAP server) without LevelDB, and to run the FolderStore
// contract suite (test/helpers/folder-store-contract.ts) on a second implementation (DESIGN.md 9).
//
// It keeps every promise of the contract: each change is checked in full before anything is touched
// (atomic), takes one new MODSEQ per change (the same for every entry it touches, as Dovecot does), and
// is announced to onChange() listeners synchronously, after it is made and before the method resolves.
// Messages are kept once, with a count of the entries that point at them, and dropped with the last.
import { Readable } from 'node:stream';
import { normalizeAddress } from '../../src/core/address.js';
import { LetterboxError } from '../../src/core/errors.js';
import { CrlfLineEnds } from '../../src/core/line-ends.js';
import type { Authenticator, CommitResult, Disposition, FolderStore, MessageIndexer, MessageIndexerFactory, MessageWriter } from '../../src/core/interfaces.js';
import type { Folder, FolderChange, FolderEntry, QuotaUsage } from '../../src/core/types.js';
import { LoginGuard, type LoginGuardSettings } from '../../src/core/login-guard.js';
import { createImapBackend, type LetterboxImapBackend } from '../../src/mailbox/index.js';
import { MimeIndexer } from '../../src/mailbox/mime/index.js';

/** RFC 6154 defaults every user has. */
export const DEFAULT_FOLDERS: readonly [string, string | null][] = [
  ['INBOX', null],
  ['Sent', '\\Sent'],
  ['Drafts', '\\Drafts'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];

/** The MIME indexer of src/mailbox/mime as a MessageIndexerFactory (what main.ts gives the store). */
export const mimeIndexerFactory: MessageIndexerFactory = () => {
  const indexer = new MimeIndexer();
  return { write: (chunk) => indexer.write(chunk), end: () => indexer.end() };
};

interface StoredBytes {
  bytes: Buffer;
  index: unknown;
  refs: number;
  receivedAt: number;
}

interface FolderState {
  folder: Folder;
  entries: FolderEntry[];
  /** [uid, modseq of its expunge], for vanishedSince. */
  vanished: [number, number][];
}

interface Account {
  password: string;
  quota: number;
}

/** Bytes of UTF-8 in one level of a name, and levels in a name (the LevelDB store's limits). */
const MAX_LEVEL_BYTES = 255;
const MAX_LEVELS = 20;

export class MemoryMessageWriter implements MessageWriter {
  readonly messageId: string;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private indexer: MessageIndexer | null;
  private readonly lineEnds: CrlfLineEnds | null;
  state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(
    readonly owner: MemoryFolderStore,
    id: string,
    indexer: MessageIndexerFactory | null,
    binary = false,
  ) {
    this.messageId = id;
    this.indexer = indexer ? indexer() : null;
    this.lineEnds = binary ? null : new CrlfLineEnds();
  }

  get size(): number {
    return this.bytes;
  }

  async write(received: Buffer): Promise<void> {
    if (this.state !== 'open') throw new LetterboxError('ABORTED', `message ${this.messageId} is ${this.state}`);
    const chunk = this.lineEnds ? this.lineEnds.canonical(received) : received;
    this.chunks.push(Buffer.from(chunk));
    this.bytes += chunk.length;
    this.indexer?.write(chunk);
  }

  /** Delivery as SMTP makes it: into the INBOX of each of `disposition.mailboxes` (the queue part is ignored). */
  async commit(disposition: Disposition): Promise<CommitResult> {
    this.owner.deliver(this, disposition.mailboxes, disposition.receivedAt ?? Date.now());
    return { messageId: this.messageId, size: this.bytes };
  }

  async abort(): Promise<void> {
    if (this.state === 'open') this.state = 'aborted';
    this.chunks = [];
  }

  /** The bytes and index, once; the writer is committed from then on. */
  take(): { bytes: Buffer; index: unknown } {
    if (this.state !== 'open') throw new LetterboxError('ABORTED', `message ${this.messageId} is ${this.state}`);
    this.state = 'committed';
    const bytes = Buffer.concat(this.chunks);
    this.chunks = [];
    const index = this.indexer ? this.indexer.end() : null;
    this.indexer = null;
    return { bytes, index };
  }
}

export interface MemoryFolderStoreOptions {
  /** Indexes each message as it is written; default the MIME indexer. Null: no indexes. */
  indexer?: MessageIndexerFactory | null;
  /** Refuse users not added with addUser() (NOT_FOUND), as the LevelDB store does. Default true. */
  knownUsersOnly?: boolean;
  /** The clock for internal dates and UIDVALIDITY. */
  now?: () => number;
}

export class MemoryFolderStore implements FolderStore, Authenticator {
  private readonly folders = new Map<string, FolderState>();
  /** user -> folder name -> folder id. */
  private readonly names = new Map<string, Map<string, string>>();
  private readonly messages = new Map<string, StoredBytes>();
  private readonly accounts = new Map<string, Account>();
  private readonly listeners = new Set<(change: FolderChange) => void>();
  private readonly indexer: MessageIndexerFactory | null;
  private readonly knownUsersOnly: boolean;
  private readonly now: () => number;
  private nextId = 1;
  private lastUidValidity: number;

  constructor(options: MemoryFolderStoreOptions = {}) {
    this.indexer = options.indexer === undefined ? mimeIndexerFactory : options.indexer;
    this.knownUsersOnly = options.knownUsersOnly ?? true;
    this.now = options.now ?? Date.now;
    this.lastUidValidity = Math.floor(this.now() / 1000);
  }

  // --- the directory part -------------------------------------------------------------------------

  /** Adds a user (quota in bytes, 0 none); returns the canonical address. */
  addUser(address: string, password = 'secret', quota = 0): string {
    const user = normalizeAddress(address);
    this.accounts.set(user, { password, quota });
    return user;
  }

  setQuota(address: string, quota: number): void {
    const account = this.accounts.get(normalizeAddress(address));
    if (!account) throw new LetterboxError('NOT_FOUND', `no user ${address}`);
    account.quota = quota;
  }

  async authenticate(username: string, password: string): Promise<string | null> {
    const user = normalizeAddress(username);
    const account = this.accounts.get(user);
    return account && account.password === password ? user : null;
  }

  // --- the MailStore part -------------------------------------------------------------------------

  async createMessage(options: { binary?: boolean } = {}): Promise<MemoryMessageWriter> {
    return new MemoryMessageWriter(this, `m${this.nextId++}`, this.indexer, options.binary === true);
  }

  /** Messages held (each once, however many entries point at it): to test that references are released. */
  get messageCount(): number {
    return this.messages.size;
  }

  /** Test convenience: writes `bytes` and commits them into `folder` as APPEND does. */
  async appendBytes(user: string, folder: string, bytes: Buffer | string, options: { flags?: string[]; internalDate?: number } = {}): Promise<{ folder: Folder; entry: FolderEntry }> {
    const writer = await this.createMessage();
    await writer.write(Buffer.from(bytes));
    return this.append(user, folder, writer, { flags: options.flags ?? [], ...(options.internalDate === undefined ? {} : { internalDate: options.internalDate }) });
  }

  /** Test convenience: delivers `bytes` into the users' INBOXes as SMTP does. */
  async deliverBytes(users: string[], bytes: Buffer | string): Promise<CommitResult> {
    const writer = await this.createMessage();
    await writer.write(Buffer.from(bytes));
    return writer.commit({ mailboxes: users });
  }

  /** MessageWriter.commit(): one INBOX entry per user, quota not applied (delivery is checked at RCPT). */
  deliver(writer: MemoryMessageWriter, users: string[], receivedAt: number): void {
    const inboxes = users.map((user) => this.folderState(this.userKey(user), 'INBOX'));
    const { bytes, index } = writer.take();
    if (inboxes.length === 0) return;
    this.messages.set(writer.messageId, { bytes, index, refs: 0, receivedAt });
    const changes = inboxes.map((state) => this.addEntries(state, [{ messageId: writer.messageId, size: bytes.length, flags: [], internalDate: receivedAt }]));
    changes.forEach((change) => this.emit(change));
  }

  // --- folders ------------------------------------------------------------------------------------

  async listFolders(user: string): Promise<Folder[]> {
    const names = this.userFolders(this.userKey(user));
    return [...names.values()].map((id) => ({ ...this.folders.get(id)!.folder })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async getFolder(user: string, name: string): Promise<Folder | null> {
    const id = this.userFolders(this.userKey(user)).get(canonicalName(name));
    return id ? { ...this.folders.get(id)!.folder } : null;
  }

  async createFolder(user: string, name: string, specialUse: string | null = null): Promise<Folder> {
    const key = this.userKey(user);
    const canonical = validName(name);
    const names = this.userFolders(key);
    if (names.has(canonical)) throw new LetterboxError('ALREADY_EXISTS', `folder ${canonical} exists`);
    this.makeSuperiors(key, canonical);
    return { ...this.makeFolder(key, canonical, specialUse).folder };
  }

  async deleteFolder(user: string, name: string): Promise<void> {
    const key = this.userKey(user);
    const canonical = canonicalName(name);
    if (canonical === 'INBOX') throw new LetterboxError('INVALID', 'INBOX cannot be deleted');
    const state = this.folderState(key, canonical);
    for (const entry of state.entries) this.release(entry.messageId);
    this.folders.delete(state.folder.id);
    this.userFolders(key).delete(canonical);
    this.emit({ kind: 'deleted', user: key, folderId: state.folder.id });
  }

  async renameFolder(user: string, from: string, to: string): Promise<void> {
    const key = this.userKey(user);
    const source = canonicalName(from);
    const target = validName(to);
    const names = this.userFolders(key);
    const state = this.folderState(key, source);
    if (names.has(target)) throw new LetterboxError('ALREADY_EXISTS', `folder ${target} exists`);
    if (target.startsWith(`${source}/`)) throw new LetterboxError('INVALID', `cannot rename ${source} under itself`);
    // RFC 3501 6.3.5: the folders under it go along; their ids and UIDVALIDITY stay.
    const moving = source === 'INBOX' ? [] : [...names].filter(([name]) => name === source || name.startsWith(`${source}/`));
    const renamed = moving.map(([name, id]) => [target + name.slice(source.length), id] as const);
    for (const [name] of renamed) if (names.has(name) && !moving.some(([old]) => old === name)) throw new LetterboxError('ALREADY_EXISTS', `folder ${name} exists`);
    this.makeSuperiors(key, target);
    if (source === 'INBOX') return this.renameInbox(key, state, target);
    for (const [name] of moving) names.delete(name);
    for (const [name, id] of renamed) {
      names.set(name, id);
      this.folders.get(id)!.folder.name = name;
    }
    for (const [name, id] of renamed) this.emit({ kind: 'renamed', user: key, folderId: id, name });
  }

  /**
   * RFC 3501 6.3.5: INBOX's messages go to a new folder (UIDs from 1 there); INBOX stays, empty, its
   * UIDVALIDITY and UIDNEXT kept, and its children stay.
   */
  private renameInbox(user: string, inbox: FolderState, target: string): void {
    const moved = this.makeFolder(user, target, null, false);
    const entries = inbox.entries;
    const appended = this.addEntries(moved, entries.map((entry) => ({ messageId: entry.messageId, size: entry.size, flags: [...entry.flags], internalDate: entry.internalDate })));
    const expunged = this.removeEntries(inbox, entries.map((entry) => entry.uid));
    if (entries.length > 0) this.emit(appended);
    if (expunged) this.emit(expunged);
  }

  /** RFC 3501 6.3.3: the superior names a new name needs are made with it. */
  private makeSuperiors(user: string, name: string): void {
    const levels = name.split('/');
    const names = this.userFolders(user);
    for (let depth = 1; depth < levels.length; depth++) {
      const superior = levels.slice(0, depth).join('/');
      if (!names.has(superior)) this.makeFolder(user, superior, null);
    }
  }

  async setSubscribed(user: string, name: string, subscribed: boolean): Promise<void> {
    this.folderState(this.userKey(user), canonicalName(name)).folder.subscribed = subscribed;
  }

  // --- entries ------------------------------------------------------------------------------------

  async listEntries(folderId: string): Promise<FolderEntry[]> {
    return this.byId(folderId).entries.map(copyEntry);
  }

  async messageIndexes(messageIds: readonly string[]): Promise<(unknown | null)[]> {
    return messageIds.map((id) => this.messages.get(id)?.index ?? null);
  }

  readMessage(messageId: string, range?: { start: number; end: number }): Readable {
    const message = this.messages.get(messageId);
    if (!message) {
      const stream = new Readable({ read() {} });
      process.nextTick(() => stream.destroy(new LetterboxError('NOT_FOUND', `no message ${messageId}`)));
      return stream;
    }
    const bytes = range ? message.bytes.subarray(Math.max(0, range.start), Math.max(0, range.end)) : message.bytes;
    return Readable.from(bytes.length > 0 ? [bytes] : []);
  }

  async append(user: string, folder: string, writer: MessageWriter, options: { flags: string[]; internalDate?: number }): Promise<{ folder: Folder; entry: FolderEntry }> {
    if (!(writer instanceof MemoryMessageWriter) || writer.owner !== this) throw new LetterboxError('INVALID', 'not a writer of this store');
    const key = this.userKey(user);
    const state = this.folderState(key, canonicalName(folder));
    this.checkQuota(key, writer.size);
    const { bytes, index } = writer.take();
    this.messages.set(writer.messageId, { bytes, index, refs: 0, receivedAt: this.now() });
    const change = this.addEntries(state, [{ messageId: writer.messageId, size: bytes.length, flags: [...options.flags], internalDate: options.internalDate ?? this.now() }]);
    const entry = copyEntry(state.entries.at(-1)!);
    this.emit(change);
    return { folder: { ...state.folder }, entry };
  }

  async setFlags(folderId: string, changes: readonly { uid: number; flags: string[] }[], options: { unchangedSince?: number; origin?: unknown } = {}): Promise<{ changed: FolderEntry[]; conflicts: number[] }> {
    const state = this.byId(folderId);
    const conflicts: number[] = [];
    const updates: [FolderEntry, string[]][] = [];
    for (const { uid, flags } of changes) {
      const entry = findEntry(state.entries, uid);
      if (!entry) continue;
      if (options.unchangedSince !== undefined && entry.modseq > options.unchangedSince) conflicts.push(uid);
      else if (!sameFlags(entry.flags, flags)) updates.push([entry, [...new Set(flags)]]);
    }
    if (updates.length === 0) return { changed: [], conflicts };
    const modseq = ++state.folder.highestModseq;
    for (const [entry, flags] of updates) {
      state.folder.unseen += Number(isUnseen(flags)) - Number(isUnseen(entry.flags));
      entry.flags = flags;
      entry.modseq = modseq;
    }
    const changed = updates.map(([entry]) => copyEntry(entry));
    const change: FolderChange = { kind: 'flags', user: state.folder.user, folderId, entries: changed.map(copyEntry), highestModseq: modseq };
    if (options.origin !== undefined) change.origin = options.origin;
    this.emit(change);
    return { changed, conflicts };
  }

  async expunge(folderId: string, uids: readonly number[]): Promise<number[]> {
    const state = this.byId(folderId);
    const change = this.removeEntries(state, uids);
    if (change) this.emit(change);
    return change ? change.uids : [];
  }

  async copy(folderId: string, uids: readonly number[], targetFolderId: string, move: boolean): Promise<{ uidValidity: number; pairs: [number, number][] }> {
    const source = this.byId(folderId);
    const target = this.byId(targetFolderId);
    if (source.folder.user !== target.folder.user) throw new LetterboxError('INVALID', 'copy between users');
    const wanted = new Set(uids);
    const entries = source.entries.filter((entry) => wanted.has(entry.uid));
    if (!move) this.checkQuota(source.folder.user, entries.reduce((sum, entry) => sum + entry.size, 0));
    const firstUid = target.folder.uidNext;
    const appended = this.addEntries(target, entries.map((entry) => ({ messageId: entry.messageId, size: entry.size, flags: [...entry.flags], internalDate: entry.internalDate })));
    const expunged = move && entries.length > 0 ? this.removeEntries(source, entries.map((entry) => entry.uid)) : null;
    if (entries.length > 0) this.emit(appended);
    if (expunged) this.emit(expunged);
    return { uidValidity: target.folder.uidValidity, pairs: entries.map((entry, i) => [entry.uid, firstUid + i]) };
  }

  async vanishedSince(folderId: string, modseq: number): Promise<number[]> {
    return this.byId(folderId).vanished.filter(([, at]) => at > modseq).map(([uid]) => uid).sort((a, b) => a - b);
  }

  async usage(user: string): Promise<QuotaUsage> {
    const key = this.userKey(user);
    let bytes = 0;
    let messages = 0;
    for (const id of this.userFolders(key).values()) {
      const { folder } = this.folders.get(id)!;
      bytes += folder.bytes;
      messages += folder.messages;
    }
    return { bytes, messages, quota: this.accounts.get(key)?.quota ?? 0 };
  }

  onChange(listener: (change: FolderChange) => void): () => void {
    // A wrapper per call, so the same function registered twice is two listeners, as with an emitter.
    const wrapped = (change: FolderChange) => listener(change);
    this.listeners.add(wrapped);
    return () => void this.listeners.delete(wrapped);
  }

  // --- inside -------------------------------------------------------------------------------------

  private emit(change: FolderChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }

  private userKey(user: string): string {
    const key = normalizeAddress(user);
    if (this.knownUsersOnly && !this.accounts.has(key)) throw new LetterboxError('NOT_FOUND', `no user ${user}`);
    return key;
  }

  /** The user's folders by name, the defaults made at the first call that needs them. */
  private userFolders(user: string): Map<string, string> {
    let names = this.names.get(user);
    if (!names) {
      names = new Map();
      this.names.set(user, names);
      for (const [name, specialUse] of DEFAULT_FOLDERS) this.makeFolder(user, name, specialUse);
    }
    return names;
  }

  private makeFolder(user: string, name: string, specialUse: string | null, subscribed = true): FolderState {
    const id = `f${this.nextId++}`;
    // RFC 3501 2.3.1.1: a folder made again under an old name must not reuse its UIDVALIDITY.
    this.lastUidValidity = Math.max(this.lastUidValidity + 1, Math.floor(this.now() / 1000));
    const folder: Folder = { id, user, name, uidValidity: this.lastUidValidity, uidNext: 1, highestModseq: 1, messages: 0, unseen: 0, bytes: 0, specialUse, subscribed };
    const state: FolderState = { folder, entries: [], vanished: [] };
    this.folders.set(id, state);
    this.userFolders(user).set(name, id);
    return state;
  }

  private folderState(user: string, name: string): FolderState {
    const id = this.userFolders(user).get(name);
    if (!id) throw new LetterboxError('NOT_FOUND', `no folder ${name}`);
    return this.folders.get(id)!;
  }

  private byId(folderId: string): FolderState {
    const state = this.folders.get(folderId);
    if (!state) throw new LetterboxError('NOT_FOUND', `no folder ${folderId}`);
    return state;
  }

  private checkQuota(user: string, adding: number): void {
    const quota = this.accounts.get(user)?.quota ?? 0;
    if (quota === 0) return;
    let used = 0;
    for (const id of this.userFolders(user).values()) used += this.folders.get(id)!.folder.bytes;
    if (used + adding > quota) throw new LetterboxError('TOO_LARGE', `over quota: ${used} + ${adding} bytes > ${quota}`);
  }

  /** Adds entries (their messages stored already) under new UIDs and one new MODSEQ; returns the change to announce. */
  private addEntries(state: FolderState, added: Omit<FolderEntry, 'uid' | 'modseq'>[]): FolderChange & { kind: 'appended' } {
    const { folder } = state;
    const modseq = added.length > 0 ? ++folder.highestModseq : folder.highestModseq;
    const entries: FolderEntry[] = [];
    for (const fields of added) {
      const entry: FolderEntry = { ...fields, flags: [...new Set(fields.flags)], uid: folder.uidNext++, modseq };
      this.messages.get(entry.messageId)!.refs += 1;
      state.entries.push(entry);
      folder.messages += 1;
      folder.bytes += entry.size;
      folder.unseen += Number(isUnseen(entry.flags));
      entries.push(copyEntry(entry));
    }
    return { kind: 'appended', user: folder.user, folderId: folder.id, entries, uidNext: folder.uidNext, highestModseq: folder.highestModseq };
  }

  private removeEntries(state: FolderState, uids: readonly number[]): (FolderChange & { kind: 'expunged' }) | null {
    const wanted = new Set(uids);
    const gone = state.entries.filter((entry) => wanted.has(entry.uid));
    if (gone.length === 0) return null;
    const { folder } = state;
    const modseq = ++folder.highestModseq;
    state.entries = state.entries.filter((entry) => !wanted.has(entry.uid));
    for (const entry of gone) {
      folder.messages -= 1;
      folder.bytes -= entry.size;
      folder.unseen -= Number(isUnseen(entry.flags));
      state.vanished.push([entry.uid, modseq]);
      this.release(entry.messageId);
    }
    return { kind: 'expunged', user: folder.user, folderId: folder.id, uids: gone.map((entry) => entry.uid), highestModseq: modseq };
  }

  private release(messageId: string): void {
    const message = this.messages.get(messageId);
    if (!message) return;
    message.refs -= 1;
    if (message.refs <= 0) this.messages.delete(messageId);
  }
}

function copyEntry(entry: FolderEntry): FolderEntry {
  return { ...entry, flags: [...entry.flags] };
}

function isUnseen(flags: readonly string[]): boolean {
  return !flags.includes('\\Seen');
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((flag) => right.has(flag));
}

/** Binary search: entries are in UID order. */
function findEntry(entries: FolderEntry[], uid: number): FolderEntry | undefined {
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const at = entries[mid]!.uid;
    if (at === uid) return entries[mid];
    if (at < uid) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
}

/** INBOX is one name whatever its case (RFC 3501 5.1), also as the first level of a longer name. */
export function canonicalName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? name : name.slice(0, slash);
  return first.toUpperCase() === 'INBOX' ? `INBOX${slash < 0 ? '' : name.slice(slash)}` : name;
}

/** A name a folder may be given: levels not empty nor too long, not too many, no control characters. */
function validName(name: string): string {
  const canonical = canonicalName(name);
  const levels = canonical.split('/');
  const badLevel = (level: string) => level === '' || Buffer.byteLength(level) > MAX_LEVEL_BYTES;
  // eslint-disable-next-line no-control-regex
  if (levels.length > MAX_LEVELS || levels.some(badLevel) || /[\u0000-\u001f\u007f]/.test(canonical)) {
    throw new LetterboxError('INVALID', `not a folder name: ${JSON.stringify(name)}`);
  }
  return canonical;
}

/** Login guard settings for tests: quick, and lenient enough that only a test that means to hits them. */
export const TEST_GUARD: LoginGuardSettings = {
  authFailureDelayMs: 1,
  authFailureMaxDelayMs: 5,
  authFailureLimit: 50,
  authFailureWindowSeconds: 900,
  authAccountFailureLimit: 100,
  authKnownAddressSeconds: 86_400,
};

/**
 * The real IMAP backend (src/mailbox) on a fresh memory store, with users added: what a test of the
 * IMAP server needs to stand one up. `users` maps address to password.
 */
export function memoryImapBackend(options: { users?: Record<string, string>; appendLimit?: number; guard?: Partial<LoginGuardSettings>; store?: MemoryFolderStore } = {}): {
  store: MemoryFolderStore;
  backend: LetterboxImapBackend;
  guard: LoginGuard;
} {
  const store = options.store ?? new MemoryFolderStore();
  for (const [address, password] of Object.entries(options.users ?? { 'alice@example.com': 'secret' })) store.addUser(address, password);
  const guard = new LoginGuard({ ...TEST_GUARD, ...options.guard });
  const backend = createImapBackend({ folders: store, mail: store, authenticator: store, loginGuard: guard, appendLimit: options.appendLimit ?? 0 });
  return { store, backend, guard };
}
