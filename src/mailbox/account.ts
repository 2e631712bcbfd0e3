// A logged-in session's account (RFC 3501 6.3, authenticated state): the user's folders, APPEND, QUOTA,
// and SELECT/EXAMINE onto the live folders shared with every other session.
import { isLetterboxError } from '../core/errors.js';
import type { FolderStore, MailStore } from '../core/interfaces.js';
import type { FolderListing, FolderStatus, ImapAccount, SelectedFolder } from '../imap/backend.js';
import { asImapError, backendError, translated } from './errors.js';
import { clientFlags } from './flags.js';
import type { LiveFolders } from './live-folders.js';
import { ImapSelectedFolder } from './selected-folder.js';

/** APPEND writes the literal into the store in pieces of this size (the store chunks it anyway). */
const WRITE_PIECE = 256 * 1024;

export interface AccountDeps {
  folders: FolderStore;
  mail: Pick<MailStore, 'createMessage'>;
  live: LiveFolders;
  appendLimit: number;
}

/** `a/b/c` -> `a`, `a/b`: the superior names RFC 3501 6.3.3 and 6.3.5 say a server should make. */
function superiors(name: string): string[] {
  const levels = name.split('/');
  return levels.slice(1).map((_, i) => levels.slice(0, i + 1).join('/'));
}

export class Account implements ImapAccount {
  private readonly selected = new Set<ImapSelectedFolder>();

  constructor(
    readonly user: string,
    private readonly deps: AccountDeps,
  ) {}

  get appendLimit(): number {
    return this.deps.appendLimit;
  }

  async listFolders(): Promise<FolderListing[]> {
    const folders = await translated(() => this.deps.folders.listFolders(this.user));
    return folders.map((folder) => ({ name: folder.name, specialUse: folder.specialUse, subscribed: folder.subscribed }));
  }

  async createFolder(name: string, specialUse: string | null = null): Promise<void> {
    // RFC 3501 6.3.3: a trailing separator only says the client means to make names under it.
    const wanted = name.endsWith('/') ? name.slice(0, -1) : name;
    if (wanted.toUpperCase() === 'INBOX') throw backendError('ALREADYEXISTS');
    await this.makeSuperiors(wanted);
    await translated(() => this.deps.folders.createFolder(this.user, wanted, specialUse));
  }

  async deleteFolder(name: string): Promise<void> {
    if (name.toUpperCase() === 'INBOX') throw backendError('CANNOT', 'INBOX cannot be deleted');
    await translated(() => this.deps.folders.deleteFolder(this.user, name));
  }

  async renameFolder(from: string, to: string): Promise<void> {
    const source = await translated(() => this.deps.folders.getFolder(this.user, from));
    if (!source) throw backendError('NONEXISTENT');
    if (await translated(() => this.deps.folders.getFolder(this.user, to))) throw backendError('ALREADYEXISTS');
    await this.makeSuperiors(to);
    await translated(() => this.deps.folders.renameFolder(this.user, from, to));
  }

  async subscribe(name: string, subscribed: boolean): Promise<void> {
    await translated(() => this.deps.folders.setSubscribed(this.user, name, subscribed));
  }

  async status(name: string): Promise<FolderStatus> {
    const folder = await translated(() => this.deps.folders.getFolder(this.user, name));
    if (!folder) throw backendError('NONEXISTENT');
    return {
      messages: folder.messages,
      recent: this.deps.live.recent.count(folder.id),
      uidNext: folder.uidNext,
      uidValidity: folder.uidValidity,
      unseen: folder.unseen,
      highestModseq: folder.highestModseq,
      size: folder.bytes,
    };
  }

  async append(name: string, message: Buffer, flags: string[], internalDate: Date | null, options: { binary?: boolean } = {}): Promise<{ uidValidity: number; uid: number }> {
    // RFC 7889: a message over APPENDLIMIT is refused with TOOBIG.
    if (this.appendLimit > 0 && message.length > this.appendLimit) throw backendError('TOOBIG', `Message larger than ${this.appendLimit} bytes`);
    const folder = await translated(() => this.deps.folders.getFolder(this.user, name));
    // RFC 3501 6.3.11: TRYCREATE when the folder is not there, so the client may create it.
    if (!folder) throw backendError('TRYCREATE');
    const checked = clientFlags(flags, this.deps.live.loaded(folder.id)?.keywords);
    const date = internalDate ? internalDate.getTime() : Date.now();
    const writer = await this.deps.mail.createMessage({ binary: options.binary === true });
    try {
      for (let at = 0; at < message.length; at += WRITE_PIECE) await writer.write(message.subarray(at, at + WRITE_PIECE));
      const { folder: after, entry } = await this.deps.folders.append(this.user, folder.name, writer, { flags: checked, internalDate: date });
      return { uidValidity: after.uidValidity, uid: entry.uid };
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw asImapError(err, { NOT_FOUND: 'TRYCREATE' });
    }
  }

  async quota(): Promise<{ usedBytes: number; limitBytes: number; messages: number }> {
    const usage = await translated(() => this.deps.folders.usage(this.user));
    return { usedBytes: usage.bytes, limitBytes: usage.quota, messages: usage.messages };
  }

  async select(name: string, options: { readOnly: boolean }): Promise<SelectedFolder> {
    const folder = await translated(() => this.deps.folders.getFolder(this.user, name));
    if (!folder) throw backendError('NONEXISTENT');
    const live = await this.deps.live.acquire(this.user, folder.name, folder.id);
    // RFC 3501 2.3.2: the first read-write session to see new messages claims them as \Recent;
    // EXAMINE shows them as recent without claiming them (6.3.2: it must not make them lose \Recent).
    const from = this.deps.live.recent.from(live.id);
    const recent = Number.isFinite(from) ? live.uids.slice(live.firstAtOrAbove(from)) : [];
    if (!options.readOnly && Number.isFinite(from)) this.deps.live.recent.claim(live.id, live.uidNext);
    const selected = new ImapSelectedFolder(live, options.readOnly, recent, {
      store: this.deps.folders,
      envelopes: this.deps.live.envelopes,
      user: this.user,
      closed: (view) => {
        this.selected.delete(view);
        this.deps.live.release(view.folder);
      },
    });
    this.selected.add(selected);
    return selected;
  }

  close(): void {
    for (const selected of [...this.selected]) selected.close();
  }

  private async makeSuperiors(name: string): Promise<void> {
    for (const superior of superiors(name)) {
      if (await translated(() => this.deps.folders.getFolder(this.user, superior))) continue;
      try {
        await this.deps.folders.createFolder(this.user, superior);
      } catch (err) {
        // Made meanwhile by another session: fine. A bad name is reported by the create that follows.
        if (!isLetterboxError(err, 'ALREADY_EXISTS') && !isLetterboxError(err, 'INVALID')) throw asImapError(err);
      }
    }
  }
}
