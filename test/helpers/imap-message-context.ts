// Running the message commands (FETCH, STORE, COPY, MOVE, EXPUNGE, SEARCH) without a socket or a store:
// a folder held in memory behind the SelectedFolder contract, the real SelectedState of the server,
// and a CommandContext that records every response as the bytes the encoder writes. Commands are
// given as the client types them and parsed by the real wire parser.
import type { FetchNeeds, FolderMessageState, MessageView, SectionSpec, SelectedChange, SelectedFolder, StructureValue } from '../../src/imap/backend.js';
import { ImapBackendError } from '../../src/imap/backend.js';
import type { CommandContext, CommandSpec, Session } from '../../src/imap/command.js';
import { SelectedState } from '../../src/imap/selected.js';
import { CommandParser } from '../../src/imap/wire/command-parser.js';
import { ResponseEncoder, type ResponseValue } from '../../src/imap/wire/encoder.js';
import type { ImapCommand } from '../../src/imap/wire/values.js';
import { pino } from 'pino';
import type { Test } from 'tap';
import { EventBus } from '../../src/core/events.js';
import { commandRegistry } from '../../src/imap/commands/index.js';
import { searchCommand, uidSearchCommand } from '../../src/imap/commands/search.js';
import { ImapServer } from '../../src/imap/server.js';
import { TEST_SETTINGS, testCertificate } from './imap-test-server.js';
import { MemoryFolderStore, memoryImapBackend } from './memory-folder-store.js';

export interface FakeMessageInput {
  raw: string | Buffer;
  flags?: string[];
  internalDate?: Date;
}

interface FakeMessage {
  uid: number;
  flags: string[];
  modseq: number;
  internalDate: Date;
  raw: Buffer;
}

function headerEnd(raw: Buffer): number {
  const at = raw.indexOf('\r\n\r\n');
  return at < 0 ? raw.length : at + 4;
}

/** Header fields of a plain message, unfolded: [name, value]. */
function fields(raw: Buffer): [string, string][] {
  const text = raw.subarray(0, headerEnd(raw)).toString('utf8').replace(/\r\n[ \t]+/g, ' ');
  return text
    .split('\r\n')
    .filter((line) => line.includes(':'))
    .map((line) => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()]);
}

function fieldLines(raw: Buffer, names: readonly string[], exclude: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const header = raw.subarray(0, headerEnd(raw)).toString('latin1');
  const lines = header.split('\r\n').filter((line) => line.includes(':'));
  const picked = lines.filter((line) => wanted.has(line.slice(0, line.indexOf(':')).toLowerCase()) !== exclude);
  return Buffer.from(picked.map((line) => `${line}\r\n`).join('') + '\r\n', 'latin1');
}

/** A view over a single-part message: enough of MessageView for the command tests. */
class FakeView implements MessageView {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: number;
  readonly internalDate: Date;
  readonly size: number;

  constructor(private readonly message: FakeMessage) {
    this.uid = message.uid;
    this.flags = [...message.flags];
    this.modseq = message.modseq;
    this.internalDate = message.internalDate;
    this.size = message.raw.length;
  }

  private field(name: string): string | null {
    return fields(this.message.raw).find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1] ?? null;
  }

  envelope(): StructureValue {
    const subject = this.field('Subject');
    return [this.field('Date'), subject, null, null, null, null, null, null, null, this.field('Message-ID')];
  }

  bodyStructure(extended: boolean): StructureValue {
    const body = this.message.raw.subarray(headerEnd(this.message.raw));
    const basic: StructureValue = ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', body.length, body.toString('latin1').split('\r\n').length - 1];
    return extended ? [...basic, null, null, null, null] : basic;
  }

  async section(spec: SectionSpec): Promise<Buffer> {
    const raw = this.message.raw;
    const end = headerEnd(raw);
    if (spec.path.length > 1 || (spec.path.length === 1 && spec.path[0] !== 1)) return Buffer.alloc(0);
    if (spec.path.length === 1) return spec.text === 'MIME' ? Buffer.from('\r\n') : spec.text ? Buffer.alloc(0) : raw.subarray(end);
    switch (spec.text) {
      case undefined:
        return raw;
      case 'HEADER':
        return raw.subarray(0, end);
      case 'TEXT':
        return raw.subarray(end);
      case 'HEADER.FIELDS':
      case 'HEADER.FIELDS.NOT':
        return fieldLines(raw, spec.fields ?? [], spec.text === 'HEADER.FIELDS.NOT');
      default:
        return Buffer.alloc(0);
    }
  }

  async binary(path: number[]): Promise<Buffer> {
    if (this.field('Content-Transfer-Encoding')?.toLowerCase() === 'x-unknown') throw new ImapBackendError('UNKNOWN-CTE', 'Unknown transfer encoding');
    const body = await this.section({ path: path.length === 0 ? [] : path });
    return this.field('Content-Transfer-Encoding')?.toLowerCase() === 'base64' && path.length > 0 ? Buffer.from(body.toString('latin1'), 'base64') : body;
  }

  async binarySize(path: number[]): Promise<number> {
    return (await this.binary(path)).length;
  }

  async headerValues(name: string): Promise<string[]> {
    return fields(this.message.raw)
      .filter(([n]) => n.toLowerCase() === name.toLowerCase())
      .map(([, v]) => v);
  }

  sentDate(): Date | null {
    const date = this.field('Date');
    return date ? new Date(date) : null;
  }

  async searchText(scope: 'body' | 'text'): Promise<string> {
    const raw = this.message.raw;
    return (scope === 'body' ? raw.subarray(headerEnd(raw)) : raw).toString('utf8');
  }
}

/** One folder in memory; several SelectedFolders (sessions) may watch it. */
export class FakeMailbox {
  readonly uidValidity = 1234;
  messages: FakeMessage[] = [];
  uidNext = 1;
  highestModseq = 1;
  readonly expungedAt = new Map<number, number>();
  private readonly listeners: { listener: (change: SelectedChange) => void; owner: object }[] = [];
  /** COPY/MOVE calls, for assertions. */
  readonly copies: { uids: number[]; target: string; move: boolean }[] = [];
  /** Folders COPY may go to; others answer TRYCREATE. */
  readonly folders = new Set(['INBOX', 'Archive', 'Trash']);
  private nextTargetUid = 100;

  add(...inputs: FakeMessageInput[]): this {
    const added: FakeMessage[] = inputs.map((input) => ({
      uid: this.uidNext++,
      flags: input.flags ?? [],
      modseq: ++this.highestModseq,
      internalDate: input.internalDate ?? new Date('2024-03-05T10:00:00Z'),
      raw: Buffer.isBuffer(input.raw) ? input.raw : Buffer.from(input.raw.replace(/\r?\n/g, '\r\n'), 'utf8'),
    }));
    this.messages.push(...added);
    this.emit({ kind: 'appended', messages: added.map(stateOf), recent: false }, null);
    return this;
  }

  subscribe(listener: (change: SelectedChange) => void, owner: object): void {
    this.listeners.push({ listener, owner });
  }

  emit(change: SelectedChange, owner: object | null): void {
    for (const entry of this.listeners) {
      entry.listener(change.kind === 'flags' ? { ...change, own: entry.owner === owner } : change);
    }
  }

  store(owner: object, uids: readonly number[], mode: 'set' | 'add' | 'remove', flags: readonly string[], unchangedSince?: number): { modified: number[] } {
    const modified: number[] = [];
    const changed: FakeMessage[] = [];
    for (const message of this.messages.filter((m) => uids.includes(m.uid))) {
      if (unchangedSince !== undefined && message.modseq > unchangedSince) {
        modified.push(message.uid);
        continue;
      }
      const before = message.flags.join(' ');
      const lower = new Set(flags.map((f) => f.toLowerCase()));
      if (mode === 'set') message.flags = [...flags];
      else if (mode === 'add') message.flags = [...message.flags, ...flags.filter((f) => !message.flags.some((g) => g.toLowerCase() === f.toLowerCase()))];
      else message.flags = message.flags.filter((f) => !lower.has(f.toLowerCase()));
      if (message.flags.join(' ') !== before) {
        message.modseq = ++this.highestModseq;
        changed.push(message);
      }
    }
    if (changed.length > 0) this.emit({ kind: 'flags', messages: changed.map(stateOf), own: true }, owner);
    return { modified };
  }

  expunge(uids?: readonly number[]): number[] {
    const gone = this.messages.filter((m) => m.flags.includes('\\Deleted') && (!uids || uids.includes(m.uid))).map((m) => m.uid);
    this.remove(gone);
    return gone;
  }

  remove(uids: readonly number[]): void {
    if (uids.length === 0) return;
    this.messages = this.messages.filter((m) => !uids.includes(m.uid));
    const modseq = ++this.highestModseq;
    for (const uid of uids) this.expungedAt.set(uid, modseq);
    this.emit({ kind: 'expunged', uids: [...uids] }, null);
  }

  copy(uids: readonly number[], target: string, move: boolean): { uidValidity: number; pairs: [number, number][] } {
    if (!this.folders.has(target)) throw new ImapBackendError('TRYCREATE', 'No such folder');
    this.copies.push({ uids: [...uids], target, move });
    const present = this.messages.filter((m) => uids.includes(m.uid)).map((m) => m.uid);
    const pairs = present.map((uid): [number, number] => [uid, this.nextTargetUid++]);
    if (move) this.remove(present);
    return { uidValidity: 777, pairs };
  }

  /** A SelectedFolder on this mailbox, as one session sees it. */
  open(readOnly = false): SelectedFolder {
    const owner = {};
    const snapshot = this.messages.map(stateOf);
    const folder: SelectedFolder = {
      name: 'INBOX',
      readOnly,
      uidValidity: this.uidValidity,
      messages: snapshot,
      uidNext: this.uidNext,
      highestModseq: this.highestModseq,
      recent: [],
      keywords: [],
      onChange: (listener) => this.subscribe(listener, owner),
      fetch: (uids: readonly number[], needs: FetchNeeds) => this.views(uids, needs),
      store: async (uids, mode, flags, unchangedSince) => this.store(owner, uids, mode, flags, unchangedSince),
      expunge: async (uids) => this.expunge(uids),
      copy: async (uids, target, move) => this.copy(uids, target, move),
      vanishedSince: async (modseq) => [...this.expungedAt].filter(([, at]) => at > modseq).map(([uid]) => uid),
      close: () => undefined,
    };
    return folder;
  }

  /** What each fetch asked for, for assertions on laziness. */
  readonly fetchLog: { uids: number[]; needs: FetchNeeds }[] = [];

  async *views(uids: readonly number[], needs: FetchNeeds): AsyncGenerator<MessageView> {
    this.fetchLog.push({ uids: [...uids], needs });
    const wanted = new Set(uids);
    for (const message of this.messages) if (wanted.has(message.uid)) yield new FakeView(message);
  }
}

function stateOf(message: FakeMessage): FolderMessageState {
  return { uid: message.uid, flags: [...message.flags], modseq: message.modseq };
}

/** A session in the selected state on `folder`, with the server's real SelectedState. */
export function selectedSession(folder: SelectedFolder, enabled: string[] = []): Session & { selected: SelectedState } {
  const enabledSet = new Set(enabled);
  const selected = new SelectedState(folder, enabledSet, { gone: () => undefined, changed: () => undefined });
  const session = {
    state: 'selected' as const,
    client: { remoteAddress: '127.0.0.1', secure: false },
    account: null,
    selected,
    enabled: enabledSet,
    limits: { maxMessageSize: 1 << 20 },
    capabilities: () => ['IMAP4rev1'],
    select: () => selected,
    deselect: () => undefined,
  };
  return session;
}

/** The command a client line parses to (literals written `{n+}\r\n...`). */
export function parseCommand(line: string): ImapCommand {
  const parser = new CommandParser();
  const events = parser.push(Buffer.from(`${line}\r\n`, 'utf8'));
  const event = events.find((e) => e.kind === 'command' || e.kind === 'error');
  if (event?.kind !== 'command') throw new Error(`does not parse: ${line} (${JSON.stringify(event)})`);
  return event.command;
}

export interface Recorded {
  /** Every response as sent, CRLF removed (literals stay inside their line). */
  lines: string[];
  /** The tagged completion line. */
  tagged: string;
}

/** Runs `spec` on the client's `line` in `session`; ImapBackendError is answered as the connection does. */
export async function run(spec: CommandSpec, session: Session, line: string): Promise<Recorded> {
  const encoder = new ResponseEncoder();
  const lines: string[] = [];
  const command = parseCommand(line);
  const write = (bytes: Buffer) => lines.push(bytes.toString('utf8').replace(/\r\n$/, ''));
  const ctx: CommandContext = {
    tag: command.tag,
    command,
    session,
    untagged: (values: readonly ResponseValue[]) => write(encoder.response('*', values)),
    untaggedStatus: (status, text, code) => write(encoder.status('*', status, text, code)),
    ok: (text, code) => write(encoder.status(command.tag, 'OK', text, code)),
    no: (text, code) => write(encoder.status(command.tag, 'NO', text, code)),
    bad: (text, code) => write(encoder.status(command.tag, 'BAD', text, code)),
    drained: async () => undefined,
  };
  try {
    await spec.run(ctx);
  } catch (err) {
    if (!(err instanceof ImapBackendError)) throw err;
    ctx.no(err.message, err.code);
  }
  const tagged = lines.filter((l) => l.startsWith(`${command.tag} `));
  if (tagged.length !== 1) throw new Error(`${line}: ${tagged.length} tagged answers: ${lines.join(' | ')}`);
  return { lines, tagged: tagged[0] as string };
}

// --- over real sockets (test/integration/imap-messages*.test.ts) ---------------------------------

export const USER = 'alice@example.com';
export const PASSWORD = 'secret';

export const PLAIN = [
  'From: Joe Example <joe@example.com>',
  'To: Ann <ann@example.com>',
  'Subject: Lunch on Friday',
  'Date: Tue, 1 Jul 2003 23:52:37 +0200',
  'Message-ID: <lunch@example.com>',
  '',
  'See you there at noon.',
  '',
].join('\r\n');

export const MULTIPART = [
  'From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>',
  'To: team@example.com',
  'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and a file',
  'Date: Wed, 2 Jul 2003 10:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Viele Gr=C3=BC=C3=9Fe aus K=C3=B6ln',
  '--b1',
  'Content-Type: application/octet-stream; name="zeros.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('a\0b\0c').toString('base64'),
  '--b1--',
  '',
].join('\r\n');

/** The server (with SEARCH registered even if the registry does not list it yet) on a fresh memory store; `quotaBytes` 0 for none. */
export async function startMessageServer(t: Test, options: { quotaBytes?: number } = {}): Promise<{ port: number }> {
  const store = new MemoryFolderStore();
  store.addUser(USER, PASSWORD, options.quotaBytes ?? 0);
  const { backend } = memoryImapBackend({ users: {}, store });
  const commands = new Map(commandRegistry());
  for (const spec of [searchCommand, uidSearchCommand]) if (!commands.has(spec.name)) commands.set(spec.name, spec);
  const server = new ImapServer({ ...TEST_SETTINGS }, { backend, bus: new EventBus(), log: pino({ level: 'silent' }), tls: await testCertificate(), commands });
  const [bound] = await server.listen([{ listener: 'imap', host: '127.0.0.1', port: 0 }]);
  t.teardown(async () => {
    await server.close(1_000);
    backend.stop();
  });
  return { port: bound?.port as number };
}

