// A small in-memory ImapBackend (src/imap/backend.ts) for the connection's own tests: users with
// passwords, folders whose every view hears every change (as the real backend's do), and append,
// store and expunge. Only what the connection-level tests need: FETCH and SEARCH are not served.
import { ImapBackendError, type FolderMessageState, type ImapAccount, type ImapBackend, type ImapClient, type SelectedChange, type SelectedFolder } from '../../src/imap/backend.js';

interface FakeFolder {
  name: string;
  uidNext: number;
  modseq: number;
  messages: FolderMessageState[];
  views: Set<(change: SelectedChange, origin: unknown) => void>;
}

export class FakeBackend implements ImapBackend {
  readonly folders = new Map<string, FakeFolder>();
  /** Every login tried, with the client it came from. */
  readonly logins: { username: string; client: ImapClient }[] = [];
  appendLimit = 0;

  constructor(private readonly users: Record<string, string>) {
    for (const name of ['INBOX', 'Sent', 'Trash']) this.folders.set(name, { name, uidNext: 1, modseq: 1, messages: [], views: new Set() });
  }

  async login(username: string, password: string, client: ImapClient): Promise<ImapAccount> {
    this.logins.push({ username, client: { ...client } });
    if (this.users[username] !== password) throw new ImapBackendError('AUTHENTICATIONFAILED', 'Authentication failed');
    return this.account(username);
  }

  /** Adds a message as another session or SMTP would. */
  deliver(folderName: string, flags: string[] = []): number {
    const folder = this.folder(folderName);
    const uid = folder.uidNext++;
    const message = { uid, flags, modseq: ++folder.modseq };
    folder.messages.push(message);
    this.announce(folder, { kind: 'appended', messages: [message], recent: true }, null);
    return uid;
  }

  /** Removes messages as another session would. */
  remove(folderName: string, uids: number[]): void {
    const folder = this.folder(folderName);
    folder.messages = folder.messages.filter((m) => !uids.includes(m.uid));
    folder.modseq += 1;
    this.announce(folder, { kind: 'expunged', uids }, null);
  }

  setFlags(folderName: string, uid: number, flags: string[], origin: unknown = null): void {
    const folder = this.folder(folderName);
    const message = folder.messages.find((m) => m.uid === uid);
    if (!message) return;
    message.flags = flags;
    message.modseq = ++folder.modseq;
    this.announce(folder, { kind: 'flags', messages: [{ ...message }], own: false }, origin);
  }

  drop(folderName: string): void {
    const folder = this.folder(folderName);
    this.folders.delete(folderName);
    this.announce(folder, { kind: 'gone' }, null);
  }

  private folder(name: string): FakeFolder {
    const folder = this.folders.get(name);
    if (!folder) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    return folder;
  }

  private announce(folder: FakeFolder, change: SelectedChange, origin: unknown): void {
    for (const view of folder.views) view(change, origin);
  }

  private account(user: string): ImapAccount {
    const backend = { folders: this.folders, deliver: (name: string) => this.deliver(name), open: (name: string, readOnly: boolean) => this.open(name, readOnly) };
    const limit = () => this.appendLimit;
    const unsupported = async (): Promise<never> => {
      throw new ImapBackendError('CANNOT', 'Not in the fake backend');
    };
    return {
      user,
      get appendLimit() {
        return limit();
      },
      listFolders: async () => [...backend.folders.keys()].map((name) => ({ name, specialUse: null, subscribed: true })),
      createFolder: unsupported,
      deleteFolder: unsupported,
      renameFolder: unsupported,
      subscribe: unsupported,
      status: unsupported,
      append: async (name) => {
        const uid = backend.deliver(name);
        return { uidValidity: 1, uid };
      },
      quota: async () => ({ usedBytes: 0, limitBytes: 0, messages: 0 }),
      select: async (name, options) => backend.open(name, options.readOnly),
      close: () => {},
    };
  }

  private open(name: string, readOnly: boolean): SelectedFolder {
    const folder = this.folder(name);
    const listeners: ((change: SelectedChange) => void)[] = [];
    const view = (change: SelectedChange, origin: unknown) => {
      const own = change.kind === 'flags' ? { ...change, own: origin === selected } : change;
      for (const listener of listeners) listener(own);
    };
    folder.views.add(view);
    const selected: SelectedFolder = {
      name,
      readOnly,
      uidValidity: 1,
      messages: folder.messages.map((m) => ({ ...m })),
      uidNext: folder.uidNext,
      highestModseq: folder.modseq,
      recent: [],
      keywords: [],
      onChange: (listener) => void listeners.push(listener),
      fetch: async function* () {},
      store: async (uids, mode, flags) => {
        for (const uid of uids) {
          const message = folder.messages.find((m) => m.uid === uid);
          if (!message) continue;
          const next = mode === 'set' ? [...flags] : mode === 'add' ? [...new Set([...message.flags, ...flags])] : message.flags.filter((f) => !flags.includes(f));
          this.setFlags(name, uid, next, selected);
        }
        return { modified: [] };
      },
      expunge: async () => {
        const doomed = folder.messages.filter((m) => m.flags.includes('\\Deleted')).map((m) => m.uid);
        if (doomed.length > 0) this.remove(name, doomed);
        return doomed;
      },
      copy: unsupportedCopy,
      vanishedSince: async () => [],
      close: () => void folder.views.delete(view),
    };
    return selected;
  }
}

async function unsupportedCopy(): Promise<never> {
  throw new ImapBackendError('CANNOT', 'Not in the fake backend');
}
