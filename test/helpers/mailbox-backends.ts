// The IMAP backend (src/mailbox) on each FolderStore there is, for the mailbox-*.test.ts files: the
// same tests run on the in-memory store and, once src/store implements FolderStore, on LevelDB.
import type { FolderStore, MessageWriter } from '../../src/core/interfaces.js';
import { LoginGuard, type LoginGuardSettings } from '../../src/core/login-guard.js';
import type { ImapAccount, ImapClient, MessageView, SelectedChange, SelectedFolder } from '../../src/imap/backend.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createImapBackend, type LetterboxImapBackend } from '../../src/mailbox/index.js';
import { Store } from '../../src/store/index.js';
import { MemoryFolderStore, mimeIndexerFactory, TEST_GUARD } from './memory-folder-store.js';

export const CLIENT: ImapClient = { remoteAddress: '127.0.0.1', secure: true };
export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';
export const PASSWORD = 'correct horse';

export interface BackendFixture {
  readonly kind: string;
  readonly store: FolderStore;
  readonly backend: LetterboxImapBackend;
  readonly guard: LoginGuard;
  /** Delivers a message into users' INBOXes as SMTP does (MessageWriter.commit). */
  deliver(users: string[], bytes: Buffer | string): Promise<void>;
  login(user?: string): Promise<ImapAccount>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Quota per user, bytes (0: none). */
  quotas?: Record<string, number>;
  appendLimit?: number;
  guard?: Partial<LoginGuardSettings>;
}

type Maker = (options: FixtureOptions) => Promise<BackendFixture>;

async function writeAll(writer: MessageWriter, bytes: Buffer | string): Promise<MessageWriter> {
  await writer.write(Buffer.from(bytes));
  return writer;
}

function fixture(kind: string, store: FolderStore & { createMessage(): Promise<MessageWriter> }, authenticator: { authenticate(u: string, p: string): Promise<string | null> }, options: FixtureOptions, close: () => Promise<void>): BackendFixture {
  const guard = new LoginGuard({ ...TEST_GUARD, ...options.guard });
  const backend = createImapBackend({ folders: store, mail: store, authenticator, loginGuard: guard, appendLimit: options.appendLimit ?? 0 });
  return {
    kind,
    store,
    backend,
    guard,
    deliver: async (users, bytes) => void (await (await writeAll(await store.createMessage(), bytes)).commit({ mailboxes: users })),
    login: (user = ALICE) => backend.login(user, PASSWORD, CLIENT),
    close: async () => {
      backend.stop();
      await close();
    },
  };
}

const memory: Maker = async (options) => {
  const store = new MemoryFolderStore();
  for (const user of [ALICE, BOB]) store.addUser(user, PASSWORD, options.quotas?.[user] ?? 0);
  return fixture('memory', store, store, options, async () => {});
};

/** The LevelDB store in a temporary directory, with the MIME indexer as main.ts gives it. */
const leveldb: Maker = async (options) => {
  const dir = await mkdtemp(join(tmpdir(), 'letterbox-mailbox-'));
  const store = await Store.open(join(dir, 'store'), { indexer: mimeIndexerFactory });
  await store.directory.addDomain('example.com');
  for (const user of [ALICE, BOB]) await store.directory.addUser(user, PASSWORD, options.quotas?.[user] ?? 0);
  return fixture('leveldb', store, store.directory, options, async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
};

/** Every store the tests run on (MAILBOX_STORES=memory or leveldb picks one). */
export const MAKERS: { kind: string; make: Maker }[] = [
  { kind: 'memory', make: memory },
  { kind: 'leveldb', make: leveldb },
].filter(({ kind }) => !process.env.MAILBOX_STORES || process.env.MAILBOX_STORES.split(',').includes(kind));

/** Collects a fetch into an array. */
export async function fetchAll(selected: SelectedFolder, uids: readonly number[], index = true): Promise<MessageView[]> {
  const views: MessageView[] = [];
  for await (const view of selected.fetch(uids, { index, content: index })) views.push(view);
  return views;
}

/** Records the changes a selected folder announces. */
export function recordChanges(selected: SelectedFolder): SelectedChange[] {
  const changes: SelectedChange[] = [];
  selected.onChange((change) => changes.push(change));
  return changes;
}

export function message(subject: string, body = 'Hello.\r\n', extra = ''): string {
  return `From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: ${subject}\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.com>\r\n${extra}\r\n${body}`;
}
