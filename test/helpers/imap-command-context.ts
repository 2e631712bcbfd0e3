// Running IMAP command handlers (src/imap/commands/) without a socket: a command line parsed by the
// real parser, run in a real ImapSession with a CommandContext that records every response as the
// bytes a client would read, answered as the connection answers what a handler throws. MemoryAccount
// is a small in-memory ImapAccount for handler tests that need no store.
import { ImapBackendError, type FolderListing, type FolderMessageState, type FolderStatus, type ImapAccount, type MessageView, type SelectedChange, type SelectedFolder } from '../../src/imap/backend.js';
import type { CommandContext, CommandSpec, ImapLimits } from '../../src/imap/command.js';
import { commandRegistry } from '../../src/imap/commands/index.js';
import { ImapSession } from '../../src/imap/session.js';
import { ResponseEncoder, type ResponseValue } from '../../src/imap/wire/encoder.js';
import type { ImapCommand } from '../../src/imap/wire/values.js';
import { feed } from './imap-wire.js';

/** One command read from `line` (CRLF added; literals given inline as `{n}\r\n...`). */
export function parseCommand(line: string | Buffer): ImapCommand {
  const bytes = Buffer.isBuffer(line) ? line : Buffer.from(line, 'utf8');
  const script = Buffer.concat([bytes, Buffer.from('\r\n')]);
  const event = feed(script, 0).events.find((e) => e.kind === 'command' || e.kind === 'error');
  if (event?.kind !== 'command') throw new Error(`not a command: ${JSON.stringify(line.toString())} ${JSON.stringify(event)}`);
  return event.command;
}

/** A CommandContext whose responses are kept as wire text (latin1, CRLF ended). */
export class RecordingContext implements CommandContext {
  readonly lines: string[] = [];
  readonly answers: { status: string; text: string; code?: string }[] = [];

  constructor(
    readonly command: ImapCommand,
    readonly session: ImapSession,
  ) {}

  get tag(): string {
    return this.command.tag;
  }

  private get encoder(): ResponseEncoder {
    return new ResponseEncoder({ utf8: this.session.enabled.has('UTF8=ACCEPT') });
  }

  untagged(values: readonly ResponseValue[]): void {
    this.lines.push(this.encoder.response('*', values).toString('latin1'));
  }

  untaggedStatus(status: 'OK' | 'NO' | 'BAD', text: string, code?: string): void {
    this.lines.push(this.encoder.status('*', status, text, code).toString('latin1'));
  }

  private answer(status: 'OK' | 'NO' | 'BAD', text: string, code?: string): void {
    this.answers.push({ status, text, ...(code ? { code } : {}) });
    this.lines.push(this.encoder.status(this.tag, status, text, code).toString('latin1'));
  }

  ok(text: string, code?: string): void {
    this.answer('OK', text, code);
  }

  no(text: string, code?: string): void {
    this.answer('NO', text, code);
  }

  bad(text: string, code?: string): void {
    this.answer('BAD', text, code);
  }
}

export const TEST_LIMITS: ImapLimits = { maxMessageSize: 1024 * 1024 };

/** An authenticated session on `account` (a real ImapSession, so SELECT installs a real SelectedState). */
export function testSession(account: ImapAccount, limits: ImapLimits = TEST_LIMITS): ImapSession {
  const session = new ImapSession({ remoteAddress: '127.0.0.1', secure: false }, limits, () => ['IMAP4rev1'], { gone: () => undefined, changed: () => undefined });
  session.account = account;
  session.state = 'authenticated';
  return session;
}

const registry = commandRegistry();

/**
 * Runs one command line in `session` the way the connection does: state check, the handler, a thrown
 * ImapBackendError as `NO [CODE]`, the selected folder's changes told before the tagged line.
 * Returns the lines written, without their CRLF.
 */
export async function run(session: ImapSession, line: string | Buffer): Promise<string[]> {
  const command = parseCommand(line);
  const ctx = new RecordingContext(command, session);
  const spec = registry.get(command.name) as CommandSpec | undefined;
  if (!spec) throw new Error(`no command ${command.name}`);
  if (!spec.states.includes(session.state)) {
    ctx.bad(`${command.name} not allowed in state ${session.state}`);
  } else {
    try {
      await spec.run(ctx);
    } catch (error) {
      if (!(error instanceof ImapBackendError)) throw error;
      ctx.no(error.message, error.code);
    }
    await session.selected?.flush(ctx, { expunges: true, uid: command.name.startsWith('UID ') });
  }
  if (ctx.answers.length !== 1) throw new Error(`${command.name} answered ${ctx.answers.length} times: ${ctx.lines.join('')}`);
  const tagged = ctx.lines.findIndex((l) => l.startsWith(`${command.tag} `));
  // The tagged line last, as the connection writes it after the updates.
  const ordered = [...ctx.lines.slice(0, tagged), ...ctx.lines.slice(tagged + 1), ctx.lines[tagged] as string];
  return ordered.map((l) => l.replace(/\r\n$/, ''));
}

interface MemoryMessage extends FolderMessageState {
  size: number;
  internalDate: Date;
}

interface MemoryFolder {
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  specialUse: string | null;
  subscribed: boolean;
  messages: MemoryMessage[];
  expunged: { uid: number; modseq: number }[];
  /** UIDs no session has seen as \Recent yet. */
  recent: Set<number>;
  listeners: Set<(change: SelectedChange) => void>;
}

let nextUidValidity = 1000;

/** An ImapAccount in memory, with the backend's error codes, for handler tests. */
export class MemoryAccount implements ImapAccount {
  readonly folders = new Map<string, MemoryFolder>();
  readonly appended: { name: string; size: number; flags: string[]; internalDate: Date | null }[] = [];
  usedBytes = 0;
  limitBytes = 0;
  appendLimit = 0;

  constructor(
    readonly user = 'alice@example.test',
    names: [string, string | null][] = [['INBOX', null], ['Sent', '\\Sent'], ['Drafts', '\\Drafts'], ['Trash', '\\Trash'], ['Junk', '\\Junk'], ['Archive', '\\Archive']],
  ) {
    for (const [name, use] of names) this.make(name, use, true);
  }

  private make(name: string, specialUse: string | null, subscribed: boolean): MemoryFolder {
    const folder: MemoryFolder = { name, uidValidity: nextUidValidity++, uidNext: 1, highestModseq: 1, specialUse, subscribed, messages: [], expunged: [], recent: new Set(), listeners: new Set() };
    this.folders.set(name, folder);
    return folder;
  }

  folder(name: string): MemoryFolder {
    const folder = this.folders.get(name);
    if (!folder) throw new ImapBackendError('NONEXISTENT', `No folder ${name}`);
    return folder;
  }

  /** Test set-up: a message in `name`. */
  add(name: string, flags: string[] = [], size = 100): number {
    const folder = this.folder(name);
    folder.highestModseq += 1;
    const message = { uid: folder.uidNext++, flags, modseq: folder.highestModseq, size, internalDate: new Date() };
    folder.messages.push(message);
    folder.recent.add(message.uid);
    this.usedBytes += size;
    for (const listener of folder.listeners) listener({ kind: 'appended', messages: [{ ...message }], recent: false });
    return message.uid;
  }

  /** Test set-up: flags set by someone else. */
  setFlags(name: string, uid: number, flags: string[]): void {
    const folder = this.folder(name);
    const message = folder.messages.find((m) => m.uid === uid);
    if (!message) return;
    folder.highestModseq += 1;
    message.flags = flags;
    message.modseq = folder.highestModseq;
    for (const listener of folder.listeners) listener({ kind: 'flags', messages: [{ ...message }], own: false });
  }

  /** Test set-up: an expunge by someone else. */
  remove(name: string, uid: number): void {
    const folder = this.folder(name);
    folder.highestModseq += 1;
    folder.messages = folder.messages.filter((m) => m.uid !== uid);
    folder.expunged.push({ uid, modseq: folder.highestModseq });
    for (const listener of folder.listeners) listener({ kind: 'expunged', uids: [uid] });
  }

  async listFolders(): Promise<FolderListing[]> {
    return [...this.folders.values()].map((f) => ({ name: f.name, specialUse: f.specialUse, subscribed: f.subscribed }));
  }

  async createFolder(name: string, specialUse?: string | null): Promise<void> {
    if (this.folders.has(name)) throw new ImapBackendError('ALREADYEXISTS', 'Folder already exists');
    this.make(name, specialUse ?? null, false);
  }

  async deleteFolder(name: string): Promise<void> {
    if (name === 'INBOX') throw new ImapBackendError('CANNOT', 'INBOX cannot be deleted');
    const folder = this.folder(name);
    for (const listener of folder.listeners) listener({ kind: 'gone' });
    this.folders.delete(name);
  }

  async renameFolder(from: string, to: string): Promise<void> {
    const source = this.folder(from);
    if (this.folders.has(to)) throw new ImapBackendError('ALREADYEXISTS', 'Target exists');
    if (from === 'INBOX') {
      const target = this.make(to, null, false);
      target.messages = source.messages;
      target.uidNext = source.uidNext;
      source.messages = [];
      return;
    }
    for (const [name, folder] of [...this.folders]) {
      if (name !== from && !name.startsWith(`${from}/`)) continue;
      this.folders.delete(name);
      folder.name = to + name.slice(from.length);
      this.folders.set(folder.name, folder);
    }
  }

  async subscribe(name: string, subscribed: boolean): Promise<void> {
    this.folder(name).subscribed = subscribed;
  }

  async status(name: string): Promise<FolderStatus> {
    const f = this.folder(name);
    const size = f.messages.reduce((sum, m) => sum + m.size, 0);
    const unseen = f.messages.filter((m) => !m.flags.includes('\\Seen')).length;
    return { messages: f.messages.length, recent: f.recent.size, uidNext: f.uidNext, uidValidity: f.uidValidity, unseen, highestModseq: f.highestModseq, size };
  }

  async append(name: string, message: Buffer, flags: string[], internalDate: Date | null): Promise<{ uidValidity: number; uid: number }> {
    const folder = this.folders.get(name);
    if (!folder) throw new ImapBackendError('TRYCREATE', 'No such folder');
    if (this.limitBytes > 0 && this.usedBytes + message.length > this.limitBytes) throw new ImapBackendError('OVERQUOTA', 'Quota exceeded');
    this.appended.push({ name, size: message.length, flags, internalDate });
    const uid = this.add(name, flags, message.length);
    return { uidValidity: folder.uidValidity, uid };
  }

  async quota(): Promise<{ usedBytes: number; limitBytes: number; messages: number }> {
    const messages = [...this.folders.values()].reduce((sum, f) => sum + f.messages.length, 0);
    return { usedBytes: this.usedBytes, limitBytes: this.limitBytes, messages };
  }

  async select(name: string, options: { readOnly: boolean }): Promise<SelectedFolder> {
    const folder = this.folder(name);
    const recent = options.readOnly ? [] : [...folder.recent];
    if (!options.readOnly) folder.recent.clear();
    const keywords = [...new Set(folder.messages.flatMap((m) => m.flags.filter((f) => !f.startsWith('\\'))))];
    const listeners = folder.listeners;
    let listener: ((change: SelectedChange) => void) | null = null;
    return {
      name: folder.name,
      readOnly: options.readOnly,
      uidValidity: folder.uidValidity,
      messages: folder.messages.map((m) => ({ uid: m.uid, flags: [...m.flags], modseq: m.modseq })),
      uidNext: folder.uidNext,
      highestModseq: folder.highestModseq,
      recent,
      keywords,
      onChange: (l) => {
        listener = l;
        listeners.add(l);
      },
      fetch: (): AsyncIterable<MessageView> => {
        throw new Error('fetch is not in MemoryAccount');
      },
      store: async () => ({ modified: [] }),
      expunge: async () => [],
      copy: async () => {
        throw new ImapBackendError('CANNOT', 'copy is not in MemoryAccount');
      },
      vanishedSince: async (modseq) => folder.expunged.filter((e) => e.modseq > modseq).map((e) => e.uid),
      close: () => {
        if (listener) listeners.delete(listener);
      },
    };
  }

  close(): void {}
}
